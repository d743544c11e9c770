module paygate.dev/services/main-backend

go 1.26

require paygate.dev/pkg v0.0.0

replace (
	paygate.dev/pkg => ../../pkg
	paygate.dev/migrations => ../../migrations
	paygate.dev/frontend => ../../frontend
)
