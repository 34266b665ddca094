// Temporary until the metrics registry lands.
public final class Metrics: Sendable {
    public init() {}
    func render() -> String { "" }
}
