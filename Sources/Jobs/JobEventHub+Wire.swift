/// The text form of an event as it travels between nodes: `p DONE FRACTION`, `m INDEX SECONDS`
/// or `s STATUS`. Doubles are written in Swift's shortest round-tripping form, so a fraction or
/// a duration arrives with the same bits.
extension JobEventHub.Event {
    public var wireText: String {
        switch self {
        case .progress(let done, let fraction): "p \(done) \(fraction)"
        case .metaIteration(let index, let seconds): "m \(index) \(seconds)"
        case .status(let status): "s \(status)"
        }
    }

    /// The event `wireText` wrote, or nil for text this build does not know (a newer node's).
    public init?(wireText: String) {
        let parts = wireText.split(separator: " ", omittingEmptySubsequences: false)
        switch (parts.first, parts.count) {
        case ("p", 3):
            guard let done = Int(parts[1]), let fraction = Double(parts[2]) else { return nil }
            self = .progress(done: done, fraction: fraction)
        case ("m", 3):
            guard let index = Int(parts[1]), let seconds = Double(parts[2]) else { return nil }
            self = .metaIteration(index, seconds: seconds)
        case ("s", 2):
            self = .status(String(parts[1]))
        default:
            return nil
        }
    }
}
