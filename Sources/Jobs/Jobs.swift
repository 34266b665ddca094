// The Jobs layer; see README "Architecture".
