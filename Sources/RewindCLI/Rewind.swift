import ArgumentParser

/// The `rewind` command: the service, a local runner and the benchmarks.
@main
struct Rewind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Exact hypergradients by reversible learning, as a service.",
        subcommands: [
            ServeCommand.self, SubmitCommand.self, StatusCommand.self, HistoryCommand.self, CancelCommand.self,
            ResultCommand.self, ListCommand.self, DeleteCommand.self, DatasetsCommand.self, ExportScheduleCommand.self,
            RunCommand.self, SweepCommand.self, BenchCommand.self, HTTPBenchCommand.self,
            ExportCommand.self,
            HealthcheckCommand.self,
        ])
}
