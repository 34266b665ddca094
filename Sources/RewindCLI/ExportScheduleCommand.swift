import ArgumentParser
import Foundation

/// `rewind export-schedule ID [--item N] [--format json|csv]`: a job's learned hyperparameters as
/// the plain per-iteration, per-block table of `GET /v1/jobs/{id}/schedule`, for another trainer.
struct ExportScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-schedule",
        abstract: "Write a job's learned learning rates, momenta, L2 and init scales as a JSON or CSV table.",
        discussion: """
            Without --item: the best item so far. Items are numbered from 0 as in the API. See \
            docs/using-learned-schedules.md for running the table in PyTorch or optax.
            """)

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case json, csv
    }

    @OptionGroup var service: ServiceOptions

    @Argument(help: "The job id.")
    var id: String

    @Option(help: "The history item (0-based); default the best.")
    var item: Int?

    @Option(help: "json or csv.")
    var format: Format = .json

    @Option(help: "Where to write it ('-' for standard output).")
    var output = "-"

    func run() throws {
        var path = "/v1/jobs/\(id)/schedule?format=\(format.rawValue)"
        if let item { path += "&item=\(item)" }
        let body = try service.call("GET", path).body
        if output == "-" {
            FileHandle.standardOutput.write(Data(body))
        } else {
            do {
                try Data(body).write(to: URL(fileURLWithPath: output))
            } catch {
                Console.error("rewind: cannot write \(output): \(error.localizedDescription)")
                throw ExitCode(2)
            }
        }
    }
}
