import JSON

/// One problem with a job spec: where (a JSON Pointer into the submitted document, e.g.
/// "/training/iterations") and what, in words a client can act on ("must be between 1 and 100000").
public struct SpecError: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { "\(field.isEmpty ? "/" : field): \(message)" }

    /// `{"field": ..., "message": ...}`, as the problem+json `errors` array lists it.
    public func json() -> JSONValue {
        ["field": .string(field), "message": .string(message)]
    }
}

/// Every problem found in a spec, in document order, so a client can fix them all at once.
public struct SpecErrors: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [SpecError]

    public init(_ errors: [SpecError]) {
        self.errors = errors
    }

    public var description: String { errors.map(\.description).joined(separator: "; ") }

    /// The problem+json `errors` array.
    public func json() -> JSONValue { .array(errors.map { $0.json() }) }
}
