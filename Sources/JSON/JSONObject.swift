/// The members of a JSON object, in insertion order.
///
/// Order matters for output only: responses list fields in the order `docs/api.md` documents. Equality
/// follows JSON semantics and ignores order. Lookup is linear, which is the right trade for the
/// small objects of this API (a few to a few dozen members).
public struct JSONObject: Sendable, RandomAccessCollection, ExpressibleByDictionaryLiteral {
    public typealias Element = (key: String, value: JSONValue)

    /// Member names, parallel to `memberValues`.
    public private(set) var keys: [String]
    private var memberValues: [JSONValue]

    public init() {
        keys = []
        memberValues = []
    }

    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init()
        for (key, value) in elements { self[key] = value }
    }

    /// Builds an object from members the caller knows to have distinct names (the parser checks).
    init(uniqueKeys keys: [String], values: [JSONValue]) {
        precondition(keys.count == values.count, "keys and values differ in count")
        self.keys = keys
        memberValues = values
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { keys.count }
    public subscript(position: Int) -> Element { (keys[position], memberValues[position]) }

    /// The value of member `key`; setting `nil` removes it, setting a new key appends it.
    public subscript(key: String) -> JSONValue? {
        get {
            guard let index = keys.firstIndex(of: key) else { return nil }
            return memberValues[index]
        }
        set {
            if let index = keys.firstIndex(of: key) {
                if let newValue {
                    memberValues[index] = newValue
                } else {
                    keys.remove(at: index)
                    memberValues.remove(at: index)
                }
            } else if let newValue {
                keys.append(key)
                memberValues.append(newValue)
            }
        }
    }

    /// The member values in order.
    public var values: [JSONValue] { memberValues }
}

extension JSONObject: Equatable {
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.count == rhs.count else { return false }
        if lhs.keys == rhs.keys { return lhs.memberValues == rhs.memberValues }
        // Same members in another order: still the same JSON object.
        var byKey: [String: JSONValue] = [:]
        byKey.reserveCapacity(rhs.count)
        for (key, value) in rhs { byKey[key] = value }
        for (key, value) in lhs where byKey[key] != value { return false }
        return true
    }
}
