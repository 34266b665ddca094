import JSON
import RewindTestSupport
import Testing

extension HTTPTestResponse {
    /// The body as JSON; `.null` when it does not parse, so expectations fail with a readable value.
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }

    /// Checks that this is an RFC 9457 problem document with `status`, in the API's shape.
    func expectProblem(_ status: Int, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(
            self.status == status, "expected \(status), got \(self.status): \(text)", sourceLocation: sourceLocation)
        #expect(
            header("Content-Type")?.hasPrefix("application/problem+json") == true,
            "content type \(header("Content-Type") ?? "none")", sourceLocation: sourceLocation)
        let problem = json
        #expect(problem["status"]?.intValue == status, "body: \(text)", sourceLocation: sourceLocation)
        #expect(problem["type"]?.stringValue?.isEmpty == false, "body: \(text)", sourceLocation: sourceLocation)
        #expect(problem["title"]?.stringValue?.isEmpty == false, "body: \(text)", sourceLocation: sourceLocation)
        #expect(problem["detail"]?.stringValue != nil, "body: \(text)", sourceLocation: sourceLocation)
        #expect(
            !text.contains("SELECT") && !text.lowercased().contains("sqlite"), "leaks internals: \(text)",
            sourceLocation: sourceLocation)
    }

    /// The JSON Pointers named in a 422's `errors`.
    var problemFields: [String] {
        json["errors"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
    }
}
