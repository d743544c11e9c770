module paygate.dev/services/main-frontend

go 1.26
