// The Learning layer; see README "Architecture".
