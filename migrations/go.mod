module paygate.dev/migrations

go 1.26
