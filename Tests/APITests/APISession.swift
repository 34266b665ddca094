import Foundation
import JSON
import RewindTestSupport
import Testing

/// One-shot JSON requests against a service on a loopback port, each on its own connection so a
/// request that makes the server close (a framing error) cannot disturb the next.
struct APISession {
    let port: Int
    /// Sent as `Authorization: Bearer KEY` when set.
    var apiKey: String?

    init(port: Int, apiKey: String? = nil) {
        self.port = port
        self.apiKey = apiKey
    }

    init(_ service: TestService, apiKey: String? = nil) {
        self.init(port: service.port, apiKey: apiKey)
    }

    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = []
    ) throws -> HTTPTestResponse {
        let client = try HTTPTestClient(port: port)
        defer { client.close() }
        var headers = headers
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        // The test client leaves out Content-Length for an empty body; a POST always declares one.
        if body.isEmpty && method == "POST" { headers.append(("Content-Length", "0")) }
        return try client.request(method, target, headers: headers, body: body)
    }

    func get(_ target: String, headers: [(String, String)] = []) throws -> HTTPTestResponse {
        try request("GET", target, headers: headers)
    }

    func post(_ target: String, json: String, headers: [(String, String)] = []) throws -> HTTPTestResponse {
        try request("POST", target, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    func delete(_ target: String) throws -> HTTPTestResponse {
        try request("DELETE", target)
    }

    /// Submits `spec` and returns the new job's id, requiring 202.
    func submit(_ spec: String, idempotencyKey: String? = nil) throws -> String {
        let response = try post(
            "/v1/jobs", json: spec, headers: idempotencyKey.map { [("Idempotency-Key", $0)] } ?? [])
        try #require(response.status == 202, "submission answered \(response.status): \(response.text)")
        return try #require(response.json["id"]?.stringValue)
    }

    /// The job resource.
    func job(_ id: String) throws -> JSONValue {
        let response = try get("/v1/jobs/\(id)")
        try #require(response.status == 200, "GET job answered \(response.status): \(response.text)")
        return response.json
    }

    /// Polls the job until `condition` holds, failing after `timeout`; returns the last resource.
    @discardableResult
    func waitForJob(
        _ id: String, timeout: Duration = .seconds(20), _ what: String = "the condition",
        until condition: (JSONValue) -> Bool
    ) throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let job = try job(id)
            if condition(job) { return job }
            guard ContinuousClock.now < deadline else {
                throw PollTimeout("job \(id) never met \(what) within \(timeout); last: \(job.serializedString())")
            }
            usleep(20_000)
        }
    }

    /// Polls until the job reaches `status`.
    @discardableResult
    func waitForStatus(_ id: String, _ status: String, timeout: Duration = .seconds(20)) throws -> JSONValue {
        try waitForJob(id, timeout: timeout, "status \(status)") { $0["status"]?.stringValue == status }
    }

    /// Every history item of the job, following `next_after` pages.
    func history(_ id: String, pageSize: Int = 1000) throws -> [JSONValue] {
        var items: [JSONValue] = []
        var after = -1
        while true {
            let response = try get("/v1/jobs/\(id)/history?after=\(after)&limit=\(pageSize)")
            try #require(response.status == 200, "history answered \(response.status): \(response.text)")
            items += response.json["items"]?.arrayValue ?? []
            guard let next = response.json["next_after"]?.intValue else { return items }
            after = next
        }
    }
}

/// A poll that ran out of time: the condition it waited for never held.
struct PollTimeout: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` until it holds or `timeout` passes; the deadline only bounds a failure.
func eventually(timeout: Duration = .seconds(10), _ condition: () throws -> Bool) rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try condition() { return true }
        usleep(10_000)
    }
    return try condition()
}
