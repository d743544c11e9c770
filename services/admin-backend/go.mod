module paygate.dev/services/admin-backend

go 1.26
