// JSON values, a strict parser and a fast serialiser.
