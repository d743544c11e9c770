module paygate.dev/frontend

go 1.26
