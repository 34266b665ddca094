import ArgumentParser
import RewindBench

/// The `rewind` command: the service, a local runner and the benchmarks.
@main
struct Rewind: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Exact hypergradients by reversible learning, as a service.",
        discussion: """
            Matrix products run on one OpenBLAS kernel family chosen by Rewind, not by the CPU, so \
            that every x86-64 machine with AVX2 gives the same bits (Haswell kernels; ARMV8 on arm64). \
            REWIND_BLAS_CORETYPE=<family> picks another family, REWIND_BLAS_CORETYPE=native lets \
            OpenBLAS choose.
            """,
        subcommands: [
            ServeCommand.self, WorkerCommand.self, SubmitCommand.self, StatusCommand.self, HistoryCommand.self,
            CancelCommand.self, RetryCommand.self, ResultCommand.self, ListCommand.self, DeleteCommand.self,
            DatasetsCommand.self,
            ExportScheduleCommand.self, RunCommand.self, SweepCommand.self, BenchCommand.self, HTTPBenchCommand.self,
            QueueBenchCommand.self, UploadBenchCommand.self, SharingExperimentCommand.self, AdamBenchCommand.self,
            ProductBenchCommand.self,
            ExportCommand.self,
            HealthcheckCommand.self,
            KeysCommand.self,
        ])

    /// Pins the BLAS kernels (which may re-execute the process) before parsing anything.
    static func main() {
        BLASPinning.apply()
        main(nil)
    }
}
