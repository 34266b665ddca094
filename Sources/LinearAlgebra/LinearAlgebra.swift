// The LinearAlgebra layer; see README "Architecture".
