module paygate.dev/services/main-backend

go 1.26
