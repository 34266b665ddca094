// The Tuning layer; see README "Architecture".
