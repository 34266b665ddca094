// The HTTPServer layer; see README "Architecture".
