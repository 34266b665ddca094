import JSON
import RewindTestSupport
import Testing

@testable import API

/// Issue 15, point 10: a document a fuzzer can hold the server to. No operation accepts "any
/// other status" (`default`), every route of the server is documented or excluded with a reason,
/// and the bounds the document publishes are the bounds the server enforces.
@Suite("OpenAPI: a document that can fail")
struct OpenAPIConformanceTests {
    let document = OpenAPITestDocument(root: (try? JSONValue.parse(OpenAPIDocument.json)) ?? .null)

    @Test func noOperationHasACatchAllAndEveryOneListsTheStatusesAnyRequestCanGet() {
        for (path, method, operation) in document.operations {
            let codes = Set(operation["responses"]?.objectValue?.keys ?? [])
            #expect(!codes.contains("default"), "\(method) \(path) has a default response")
            let common = Set(OpenAPIDocument.commonResponses.map(\.code))
            #expect(common.isSubset(of: codes), "\(method) \(path) lacks \(common.subtracting(codes))")
            let open = operation["security"]?.arrayValue?.isEmpty == true
            #expect(open || codes.contains("401"), "\(method) \(path) needs a key but lists no 401")
            #expect(method == "get" || codes.contains("403"), "\(method) \(path) changes state but lists no 403")
            for code in codes {
                let content = document.resolve(operation["responses"]?[code] ?? .null)["content"]?.objectValue
                #expect(
                    code == "204" || code == "303" || content?.isEmpty == false,
                    "\(method) \(path) \(code) has no media type")
            }
        }
    }

    @Test func everyRouteOfTheServerIsDocumentedOrExcludedWithAReason() {
        let excluded = (document.root["x-excluded-routes"]?.arrayValue ?? []).map { route in
            "\(route["method"]?.stringValue ?? "") \(route["path"]?.stringValue ?? "")"
        }
        #expect(
            (document.root["x-excluded-routes"]?.arrayValue ?? []).allSatisfy {
                $0["reason"]?.stringValue?.isEmpty == false
            })
        let documented = document.operations.map { "\($0.1.uppercased()) \($0.0)" }
        let served = Router.api.routes.map { "\($0.method.rawValue) \($0.pattern.template)" }
        #expect(
            Set(served) == Set(documented).union(excluded),
            "undocumented: \(Set(served).subtracting(documented).subtracting(excluded))")
        #expect(Set(documented).isDisjoint(with: excluded))
    }

    @Test func anEventIDAboveThePublishedMaximumIsRefusedNamingWhereItCameFrom() throws {
        let service = try TestService(startsWorkers: false)
        defer { service.stop() }
        let client = try HTTPTestClient(port: service.port)
        defer { client.close() }
        let spec = #"{"dataset":{"name":"digits"},"training":{"iterations":5},"meta":{"iterations":1}}"#
        let created = try client.request(
            "POST", "/v1/jobs", headers: [("Content-Type", "application/json")], body: Array(spec.utf8))
        let id = try #require(try JSONValue.parse(created.body)["id"]?.stringValue)
        let maximum = try #require(
            document.root["paths"]?["/v1/jobs/{id}/events"]?["get"]?["parameters"]?[1]?["schema"]?["maximum"]?.intValue)
        #expect(maximum == Int(Int32.max))
        let query = try client.request("GET", "/v1/jobs/\(id)/events?last_event_id=\(maximum + 1)")
        #expect(query.status == 422 && query.text.contains("last_event_id"))
        let header = try client.request("GET", "/v1/jobs/\(id)/events", headers: [("Last-Event-ID", "\(maximum + 1)")])
        #expect(header.status == 422 && header.text.contains("Last-Event-ID"))
        // A valid header does not hide an invalid query parameter.
        let both = try client.request(
            "GET", "/v1/jobs/\(id)/events?last_event_id=\(maximum + 1)", headers: [("Last-Event-ID", "0")])
        #expect(both.status == 422 && both.text.contains("last_event_id"))
    }
}
