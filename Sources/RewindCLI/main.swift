print("rewind: under construction")
