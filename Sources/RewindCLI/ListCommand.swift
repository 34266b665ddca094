import ArgumentParser
import Foundation
import JSON

/// `rewind list`: the service's jobs, newest first, one line each (or the raw pages with --json).
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List jobs, newest first.")

    @OptionGroup var service: ServiceOptions

    @Option(help: "Only jobs in this state: queued, running, succeeded, failed, cancelled.")
    var status: String?

    @Option(help: "At most this many jobs (all when omitted).")
    var limit: Int?

    @Flag(help: "Print each job resource as a JSON line instead of a table.")
    var json = false

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
    }

    func run() throws {
        var token: String?
        var printed = 0
        if !json { Console.output(Self.header) }
        repeat {
            let pageSize = min(200, limit.map { $0 - printed } ?? 200)
            var path = "/v1/jobs?limit=\(pageSize)"
            if let status { path += "&status=\(ServiceOptions.queryValue(status))" }
            if let token { path += "&page_token=\(ServiceOptions.queryValue(token))" }
            let page = try JSONValue.parse(try service.call("GET", path).body)
            for job in page["jobs"]?.arrayValue ?? [] {
                Console.output(json ? job.serializedString() : Self.row(job))
                printed += 1
            }
            token = page["next_page_token"]?.stringValue
        } while token != nil && printed < (limit ?? .max)
    }

    static let header =
        pad("ID", 36) + "  " + pad("STATUS", 9) + "  " + pad("ITEMS", 7) + "  " + pad("BEST LOSS", 9)
        + "  " + pad("DATA SET", 12) + "  NAME / ERROR"

    /// One job: id, status, items done, best validation loss (its item), data set, name or failure.
    static func row(_ job: JSONValue) -> String {
        let done = job["progress"]?["done"]?.intValue ?? 0
        let total = job["progress"]?["total"]?.intValue ?? 0
        let best = job["best"]?["validation_loss"]?.doubleValue.map { String(format: "%.4f", $0) } ?? "-"
        let member = job["dataset"] ?? job["spec"]?["dataset"]
        let dataset = member?["name"]?.stringValue ?? member?["id"]?.stringValue ?? "?"
        var last = job["name"]?.stringValue ?? ""
        if let message = job["error"]?["message"]?.stringValue { last += " — \(message)" }
        return pad(job["id"]?.stringValue ?? "?", 36) + "  " + pad(job["status"]?.stringValue ?? "?", 9) + "  "
            + pad("\(done)/\(total)", 7) + "  " + pad(best, 9) + "  " + pad(dataset, 12) + "  " + last
    }

    static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}

/// `rewind delete ID`: removes a finished job with its history.
struct DeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete", abstract: "Delete a finished job and its history (cancel a running one first).")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        _ = try service.call("DELETE", "/v1/jobs/\(id)")
        Console.output("deleted \(id)")
    }
}
