import JSON
import Testing

@testable import RewindCLI

/// The one-line summaries `rewind status` prints for jobs and items.
@Suite("Status lines")
struct StatusLineTests {
    @Test func aJobLineRanksBestByItsObjectiveAndShowsTestNumbersAndAnEarlyStop() throws {
        let job = try JSONValue.parse(
            """
            {"id": "j1", "status": "succeeded", "progress": {"done": 7, "total": 51, "fraction": 1},
             "spec": {"meta": {"objective": "training_loss"}},
             "best": {"meta_iteration": 4, "validation_loss": 0.25, "validation_error": 0.06,
                      "training_loss": 0.04, "test_loss": 0.27, "test_error": 0.07},
             "error": null, "stopped_early": true}
            """)
        let line = StatusCommand.summary(job)
        #expect(
            line.contains(
                "best training loss 0.0400, validation loss 0.2500, test loss 0.2700, test error 0.070 (item 4)"),
            "\(line)")
        #expect(line.contains("stopped early"))
    }

    @Test func aJobsWarningsFollowItsLineOnePerLine() throws {
        let job = try JSONValue.parse(
            """
            {"id": "j2", "status": "succeeded", "progress": {"done": 3, "total": 3, "fraction": 1},
             "warnings": [{"code": "small-validation-split", "detail": "20 validation rows"},
                          {"code": "no-better-than-majority", "detail": "66.7 %"}]}
            """)
        let lines = StatusCommand.summary(job).split(separator: "\n")
        #expect(lines.count == 3)
        #expect(lines[1] == "  warning small-validation-split: 20 validation rows")
        #expect(lines[2] == "  warning no-better-than-majority: 66.7 %")
    }

    @Test func anItemLineShowsTestNumbersAndARejectedStep() throws {
        let item = try JSONValue.parse(
            """
            {"meta_iteration": 2, "validation_loss": 0.3, "validation_error": 0.1, "test_loss": 0.31,
             "test_error": 0.11, "step": "rejected"}
            """)
        let line = StatusCommand.itemLine(item, total: 5)
        #expect(line.hasSuffix("test loss 0.3100, test error 0.110 [step rejected]"), "\(line)")
        let plain = try JSONValue.parse(
            #"{"meta_iteration": 0, "validation_loss": 0.3, "validation_error": 0.1, "test_loss": null}"#)
        #expect(!StatusCommand.itemLine(plain, total: 5).contains("test"))
    }
}
