// The API layer; see README "Architecture".
