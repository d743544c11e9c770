package domain

import "time"

// CodeDocumentStored (409): a document of that kind and id is stored already; stored
// documents never change.
const CodeDocumentStored = "DOCUMENT_STORED"

// Document is a rendered accounting document (the PDF of an issued invoice or credit note),
// stored once when the invoice or credit note is issued and served as stored from then on.
type Document struct {
	OrganizationID string       `gorm:"primaryKey"`
	Kind           DocumentKind `gorm:"primaryKey"`
	DocumentID     string       `gorm:"primaryKey"` // the invoice's or credit note's id
	ContentType    string
	Bytes          []byte
	SHA256         string `gorm:"column:sha256"` // hex, of Bytes
	CreatedAt      time.Time
}

// TableName tells the store which table holds documents.
func (Document) TableName() string { return "documents" }
