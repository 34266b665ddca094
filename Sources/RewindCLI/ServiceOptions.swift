import ArgumentParser
import Foundation
import HTTPClient
import JSON

/// Options shared by the client commands: where the service is and how to authenticate.
struct ServiceOptions: ParsableArguments {
    @Option(help: "Service URL, e.g. http://127.0.0.1:8080 or 127.0.0.1:8080 (REWIND_URL).")
    var url: String = Environment.string("REWIND_URL") ?? "http://127.0.0.1:\(Environment.int("REWIND_PORT") ?? 8080)"

    @Option(name: .customLong("api-key"), help: "Bearer key when the service requires one (REWIND_API_KEY).")
    var apiKey: String = Environment.string("REWIND_API_KEY") ?? ""

    /// The URL with `http://` assumed when no scheme is given (`127.0.0.1:8080`, `localhost`).
    var serviceURL: String { url.contains("://") ? url : "http://\(url)" }

    /// Checked by the argument parser before `run()`, so a bad URL is one clear usage error.
    func validate() throws {
        do {
            _ = try HTTPClient(url: serviceURL)
        } catch {
            throw ValidationError("--url: \(error)")
        }
    }

    var headers: [String: String] {
        apiKey.isEmpty ? [:] : ["Authorization": "Bearer \(apiKey)"]
    }

    func client(timeout: Int = 15) -> HTTPClient {
        // validate() has parsed the same URL already.
        try! HTTPClient(url: serviceURL, timeout: .seconds(timeout))
    }

    /// Sends a request and returns the answer whatever its status; exits 3 with a clear message
    /// when the service cannot be reached.
    func send(
        _ method: String, _ path: String, body: [UInt8] = [], contentType: String = "application/json",
        extraHeaders: [String: String] = [:]
    ) throws -> HTTPClientResponse {
        var headers = self.headers.merging(extraHeaders) { _, new in new }
        if !body.isEmpty { headers["Content-Type"] = contentType }
        do {
            return try client().request(method, path, body: body, headers: headers)
        } catch {
            Console.error(
                "rewind: cannot reach the service at \(serviceURL): \(error) (is `rewind serve` running? see --url)")
            throw ExitCode(3)
        }
    }

    /// Sends a request; prints a clear message and exits non-zero when the service is unreachable
    /// or answers an error (the problem's title, detail and every field error).
    func call(
        _ method: String, _ path: String, body: [UInt8] = [], contentType: String = "application/json"
    ) throws -> HTTPClientResponse {
        let response = try send(method, path, body: body, contentType: contentType)
        guard (200..<300).contains(response.status) else {
            Self.reportProblem(response)
            throw ExitCode(1)
        }
        return response
    }

    /// An error answer on stderr: the problem's title and detail, then each field error on its own line.
    static func reportProblem(_ response: HTTPClientResponse) {
        guard let problem = try? JSONValue.parse(response.body), case .object = problem else {
            Console.error("rewind: the service answered \(response.status): \(response.text.prefix(300))")
            return
        }
        printProblem(problem, status: response.status)
    }

    /// A problem+json document in words; a 401 says how this CLI sends a key.
    static func printProblem(_ problem: JSONValue, status: Int) {
        let title = problem["title"]?.stringValue ?? "error"
        let errors = problem["errors"]?.arrayValue ?? []
        if errors.isEmpty {
            Console.error("rewind: \(status) \(title): \(problem["detail"]?.stringValue ?? "")")
        } else {
            Console.error("rewind: \(status) \(title) (\(errors.count) \(errors.count == 1 ? "error" : "errors")):")
            for error in errors {
                let field = error["field"]?.stringValue ?? ""
                Console.error("  \(field.isEmpty ? "/" : field): \(error["message"]?.stringValue ?? "")")
            }
        }
        if status == 401 {
            Console.error("  the service needs an API key: pass --api-key KEY or set REWIND_API_KEY")
        }
    }

    /// `text` with `%`-escapes for a query value.
    static func queryValue(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
