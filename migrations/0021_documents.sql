-- Rendered documents (pkg/document, pkg/invoice): the PDF of an issued invoice or credit note,
-- rendered once in the issuing transaction and served as stored from then on. A row is never
-- changed: the store inserts and refuses an existing key, and the database refuses an UPDATE
-- (a trigger on each). The document id is the invoice's (or credit note's) id; no foreign key,
-- so one table serves both kinds.

-- +goose Up
-- +dialect postgres
CREATE TABLE documents (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    document_id     TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    bytes           BYTEA NOT NULL,
    sha256          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, kind, document_id)
);
CREATE FUNCTION documents_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'documents never change once stored';
END;
$$;
CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents FOR EACH ROW EXECUTE FUNCTION documents_immutable();

-- +dialect sqlite
CREATE TABLE documents (
    organization_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('invoice', 'credit_note')),
    document_id     TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    bytes           BLOB NOT NULL,
    sha256          TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (organization_id, kind, document_id)
);
CREATE TRIGGER documents_no_update BEFORE UPDATE ON documents
BEGIN
    SELECT RAISE(ABORT, 'documents never change once stored');
END;

-- +goose Down
-- +dialect postgres
DROP TABLE documents;
DROP FUNCTION documents_immutable();

-- +dialect sqlite
DROP TABLE documents;
