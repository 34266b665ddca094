/// What the API reports to the metrics registry.
extension RewindAPI {
    func registerCollectors() {}
}

extension Metrics {
    func recordRequest(route: String, method: String, status: Int, seconds: Double) {}
}

// Temporary until the OpenAPI document lands.
enum OpenAPIDocument {
    static let json = "{}"
}
