import Foundation
import JSON
import RewindTestSupport
import Testing

/// Admission control trusts a weight-sharing job's memory estimate as it trusts a tuning job's: a
/// small sharing spec run by `rewind run --memory-report` in its own process (a meta-iteration and
/// the final item's three trainings) grows its resident memory by no more than the estimate.
@Suite("Security: the weight-sharing memory estimate bounds the measured peak", .serialized)
struct SharingMemoryEstimateProcessTests {
    @Test func theEstimateIsAtLeastThePeakGrowthOfARealSharingRun() throws {
        let spec = #"""
            {"kind": "weight_sharing", "dataset": {"name": "omniglot"},
             "model": {"hidden": [50], "sharing": {"tasks": "alphabets+rotations", "alphabets": 2}},
             "training": {"iterations": 10, "momentum": 0.5}, "meta": {"iterations": 1}}
            """#
        let (stdout, report, estimated, growth) = try JobMemoryEstimateProcessTests.memoryReport(spec)
        // Both items, as the service would write them.
        let items = stdout.split(separator: "\n").compactMap { try? JSONValue.parse(Array($0.utf8)) }
        #expect(items.count == 2 && items.last?["hyperparameters"]?["transforms"]?.arrayValue?.count == 2)
        print(
            String(
                format: "weight sharing: estimated %.1f MiB, peak RSS grew %.1f MiB (%.2f×)", estimated / 1_048_576,
                growth / 1_048_576, estimated / growth))
        #expect(estimated >= growth, "\(report["estimate"]?.stringValue ?? "")")
    }
}
