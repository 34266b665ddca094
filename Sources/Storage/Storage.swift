// The Storage layer; see README "Architecture".
