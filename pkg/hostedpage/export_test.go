package hostedpage

// RenderViaTemplate makes s render the payment page through templates/checkout.html, the
// reference its writer (render.go) is compared with.
func RenderViaTemplate(s *Server) { s.viaTemplate = true }
