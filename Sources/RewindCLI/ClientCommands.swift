import ArgumentParser
import Foundation
import HTTPClient
import JSON

/// `rewind submit SPEC.json`: prints the new job's id.
struct SubmitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "submit", abstract: "Submit a job spec; prints the job id.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job spec file; '-' reads standard input.")
    var spec: String

    @Option(name: .customLong("idempotency-key"), help: "Makes a retried submission return the same job.")
    var idempotencyKey: String?

    func run() throws {
        let data: Data
        do {
            data =
                spec == "-"
                ? FileHandle.standardInput.readDataToEndOfFile() : try Data(contentsOf: URL(fileURLWithPath: spec))
        } catch {
            Console.error("rewind: cannot read \(spec): \(error.localizedDescription)")
            throw ExitCode(2)
        }
        let response = try service.send(
            "POST", "/v1/jobs", body: [UInt8](data), extraHeaders: idempotencyKey.map { ["Idempotency-Key": $0] } ?? [:]
        )
        guard (200..<300).contains(response.status), let id = (try? JSONValue.parse(response.body))?["id"]?.stringValue
        else {
            ServiceOptions.reportProblem(response)
            throw ExitCode(1)
        }
        Console.output(id)
    }
}

/// `rewind status ID [--watch]`: the job's state; with --watch a live progress bar until it ends.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show a job; --watch follows it live.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    @Flag(help: "Follow the job's event stream with a progress bar until it finishes.")
    var watch = false

    func run() throws {
        let job = try JSONValue.parse(try service.call("GET", "/v1/jobs/\(id)").body)
        Console.output(Self.summary(job))
        guard watch, !["succeeded", "failed", "cancelled"].contains(job["status"]?.stringValue ?? "") else { return }
        try follow(total: job["progress"]?["total"]?.intValue ?? 1)
        let final = try JSONValue.parse(try service.call("GET", "/v1/jobs/\(id)").body)
        Console.output(Self.summary(final))
        if final["status"]?.stringValue != "succeeded" { throw ExitCode(1) }
    }

    private func follow(total: Int) throws {
        var bar = ProgressLine(enabled: true, total: total)
        var pending = ""
        var event = ""
        do {
            try service.client(timeout: 60).stream(
                "/v1/jobs/\(id)/events", headers: service.headers,
                onHead: { status in
                    guard status == 200 else {
                        throw HTTPClientError(.malformed, "the event stream answered \(status)")
                    }
                },
                onBytes: { bytes in
                    pending += String(decoding: bytes, as: UTF8.self)
                    while let newline = pending.firstIndex(of: "\n") {
                        let line = String(pending[..<newline])
                        pending.removeSubrange(...newline)
                        if line.hasPrefix("event: ") { event = String(line.dropFirst(7)) }
                        guard line.hasPrefix("data: "), let data = try? JSONValue.parse(String(line.dropFirst(6)))
                        else { continue }
                        switch event {
                        case "progress":
                            bar.update(
                                item: min(data["done"]?.intValue ?? 0, total - 1),
                                fraction: data["fraction"]?.doubleValue ?? 0)
                        case "meta_iteration":
                            bar.clear()
                            Console.error(Self.itemLine(data, total: total))
                        case "status":
                            bar.clear()
                            return false
                        default: break
                        }
                    }
                    return true
                })
        } catch {
            bar.clear()
            Console.error("rewind: lost the event stream: \(error)")
            throw ExitCode(3)
        }
        bar.clear()
    }

    static func itemLine(_ item: JSONValue, total: Int) -> String {
        let index = item["meta_iteration"]?.intValue ?? 0
        let loss = item["validation_loss"]?.doubleValue ?? .nan
        let error = item["validation_error"]?.doubleValue ?? .nan
        var line = String(
            format: "item %d (of 0-%d): validation loss %.4f, validation error %.3f", index, total - 1, loss, error)
        if let testLoss = item["test_loss"]?.doubleValue, let testError = item["test_error"]?.doubleValue {
            line += String(format: ", test loss %.4f, test error %.3f", testLoss, testError)
        }
        if item["step"]?.stringValue == "rejected" { line += " [step rejected]" }
        return line
    }

    /// Sends an action on a job (cancel, retry) and prints the job it answers as a status line.
    static func act(_ service: ServiceOptions, _ method: String, _ path: String) throws {
        let job = try JSONValue.parse(try service.call(method, path).body)
        Console.output(summary(job))
    }

    static func summary(_ job: JSONValue) -> String {
        let status = job["status"]?.stringValue ?? "?"
        let done = job["progress"]?["done"]?.intValue ?? 0
        let total = job["progress"]?["total"]?.intValue ?? 0
        let fraction = job["progress"]?["fraction"]?.doubleValue ?? 0
        var line =
            "\(job["id"]?.stringValue ?? "?")  \(status)  \(done)/\(total) items done  \(String(format: "%.1f", fraction * 100))%"
        // SGD is the default; an Adam job says so (its items carry Adam's groups).
        if job["spec"]?["training"]?["optimizer"]?.stringValue == "adam" { line += "  adam" }
        if let best = job["best"], case .object = best {
            let objective = job["spec"]?["meta"]?["objective"]?.stringValue ?? "validation_loss"
            if objective == "training_loss", let trainingLoss = best["training_loss"]?.doubleValue {
                line += String(format: "  best training loss %.4f", trainingLoss)
                line += String(format: ", validation loss %.4f", best["validation_loss"]?.doubleValue ?? .nan)
            } else {
                line += String(format: "  best validation loss %.4f", best["validation_loss"]?.doubleValue ?? .nan)
            }
            if let testLoss = best["test_loss"]?.doubleValue, let testError = best["test_error"]?.doubleValue {
                line += String(format: ", test loss %.4f, test error %.3f", testLoss, testError)
            }
            line += " (item \(best["meta_iteration"]?.intValue ?? 0))"
        }
        if job["stopped_early"] == .bool(true) { line += "  stopped early (meta.patience)" }
        if let error = job["error"], case .object = error {
            line += "  error \(error["code"]?.stringValue ?? ""): \(error["message"]?.stringValue ?? "")"
        }
        // One line per warning under the summary: they say what to change.
        for warning in job["warnings"]?.arrayValue ?? [] {
            line += "\n  warning \(warning["code"]?.stringValue ?? ""): \(warning["detail"]?.stringValue ?? "")"
        }
        return line
    }
}

/// `rewind history ID`: every history item as a JSON line.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history", abstract: "Print a job's history items as JSON lines.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        var after = -1
        while true {
            let page = try JSONValue.parse(
                try service.call("GET", "/v1/jobs/\(id)/history?after=\(after)&limit=1000").body)
            for item in page["items"]?.arrayValue ?? [] { Console.output(item.serializedString()) }
            guard let next = page["next_after"]?.intValue else { return }
            after = next
        }
    }
}

/// `rewind cancel ID`.
struct CancelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "cancel", abstract: "Cancel a queued or running job.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        try StatusCommand.act(service, "POST", "/v1/jobs/\(id)/cancel")
    }
}

/// `rewind retry ID`: queue a failed or cancelled job again (`POST /v1/jobs/{id}/retry`).
struct RetryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Queue a failed or cancelled job again; it resumes from its last checkpoint.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        try StatusCommand.act(service, "POST", "/v1/jobs/\(id)/retry")
    }
}

/// `rewind result ID`: the best and final items of a succeeded job (or the best so far of a failed
/// or cancelled one, marked `"partial": true`), as JSON.
struct ResultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result",
        abstract:
            "Print a job's best and final items (JSON); a failed or cancelled job's best so far is marked partial.")

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    func run() throws {
        Console.output(try service.call("GET", "/v1/jobs/\(id)/result").text)
    }
}
