import Foundation
import JSON
import RewindTestSupport
import Testing

/// One-shot requests against a service on a loopback port, each on its own connection, as an
/// outside client would send them: raw headers, nothing added but `Host` and the length.
struct SecuritySession {
    let port: Int
    /// Sent as `Authorization: Bearer KEY` when set.
    var apiKey: String?

    init(port: Int, apiKey: String? = nil) {
        self.port = port
        self.apiKey = apiKey
    }

    func request(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: [UInt8] = [],
        timeout: Duration = .seconds(10)
    ) throws -> HTTPTestResponse {
        let client = try HTTPTestClient(port: port, timeout: timeout)
        defer { client.close() }
        var headers = headers
        if let apiKey { headers.append(("Authorization", "Bearer \(apiKey)")) }
        if body.isEmpty && method == "POST" { headers.append(("Content-Length", "0")) }
        return try client.request(method, target, headers: headers, body: body)
    }

    func get(_ target: String, headers: [(String, String)] = []) throws -> HTTPTestResponse {
        try request("GET", target, headers: headers)
    }

    func postJSON(_ target: String, _ json: String, headers: [(String, String)] = []) throws -> HTTPTestResponse {
        try request("POST", target, headers: [("Content-Type", "application/json")] + headers, body: Array(json.utf8))
    }

    /// Signs in through the sign-in page's form as a browser does: the `Cookie` header to send
    /// from now on, and the `Set-Cookie` the server answered.
    func signIn(
        key: String, headers extra: [(String, String)] = []
    ) throws -> (cookie: (String, String), setCookie: String) {
        let page = try get("/", headers: extra)
        let token = try #require(BrowserDefenceTests.csrfToken(in: page.text))
        let body = "key=\(key.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? key)&csrf_token=\(token)"
        let answer = try request(
            "POST", "/login", headers: [("Content-Type", "application/x-www-form-urlencoded")] + extra,
            body: Array(body.utf8))
        try #require(answer.status == 303, "sign-in answered \(answer.status): \(answer.text)")
        let setCookie = try #require(answer.header("Set-Cookie"))
        let pair = String(setCookie.split(separator: ";").first ?? "")
        return (("Cookie", pair), setCookie)
    }

    /// Submits `spec`, requiring 202, and returns the job id.
    func submit(_ spec: String) throws -> String {
        let response = try postJSON("/v1/jobs", spec)
        try #require(response.status == 202, "submission answered \(response.status): \(response.text)")
        return try #require(response.json["id"]?.stringValue)
    }

    /// Polls the job until its status is `status`; fails after `timeout`.
    @discardableResult
    func waitForStatus(_ id: String, _ status: String, timeout: Duration = .seconds(60)) throws -> JSONValue {
        let deadline = ContinuousClock.now + timeout
        while true {
            let job = try get("/v1/jobs/\(id)").json
            if job["status"]?.stringValue == status { return job }
            if let now = job["status"]?.stringValue, ["succeeded", "failed", "cancelled"].contains(now) {
                Issue.record("job \(id) ended \(now), expected \(status): \(job.serializedString())")
                return job
            }
            guard ContinuousClock.now < deadline else {
                Issue.record("job \(id) never reached \(status): \(job.serializedString())")
                return job
            }
            usleep(20_000)
        }
    }
}

extension HTTPTestResponse {
    var json: JSONValue { (try? JSONValue.parse(body)) ?? .null }

    /// The problem's slug: `/problems/queue-full` → `queue-full`.
    var slug: String? { json["type"]?.stringValue.map { String($0.split(separator: "/").last ?? "") } }
}

/// Specs the security tests submit.
enum SecuritySpecs {
    /// Four history items, milliseconds each.
    static func small(name: String = "small") -> String {
        #"{"name":"\#(name)","dataset":{"name":"digits"},"split":{"train":200,"validation":100},"#
            + #""model":{"hidden":[8]},"training":{"iterations":10,"batch_size":20},"meta":{"iterations":3}}"#
    }

    /// The spec of the attack in issue 10: ~30 bits per parameter per step for 100,000 steps of
    /// a 1.9-million-parameter model, hundreds of gigabytes of information buffer.
    static let memoryBomb =
        #"{"dataset":{"name":"digits"},"model":{"hidden":[4096,400]},"training":{"iterations":100000,"batch_size":1},"#
        + #""hyperparameters":{"momentum":{"init":1e-9,"schedule":"constant","per_block":false}},"meta":{"iterations":1}}"#

    /// Would run for minutes: kept queued or cancelled.
    static let endless =
        #"{"name":"endless","dataset":{"name":"digits"},"split":{"train":1000,"validation":500},"#
        + #""model":{"hidden":[50]},"training":{"iterations":100,"batch_size":100},"meta":{"iterations":500}}"#
}
