import JSON
import Testing

@testable import RewindCLI

/// `rewind status` names an Adam job's optimiser; an SGD job's line is as it was.
@Suite("Status lines of Adam jobs")
struct AdamStatusLineTests {
    @Test func anAdamJobLineSaysAdam() throws {
        let adam = try JSONValue.parse(
            #"{"id": "j2", "status": "running", "progress": {"done": 1, "total": 5, "fraction": 0.2}, "spec": {"training": {"optimizer": "adam"}}}"#
        )
        #expect(StatusCommand.summary(adam) == "j2  running  1/5 items done  20.0%  adam")
        let sgd = try JSONValue.parse(
            #"{"id": "j3", "status": "running", "progress": {"done": 1, "total": 5, "fraction": 0.2}, "spec": {"training": {}}}"#
        )
        #expect(StatusCommand.summary(sgd) == "j3  running  1/5 items done  20.0%")
    }
}
