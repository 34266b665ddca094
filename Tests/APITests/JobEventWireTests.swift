import Jobs
import Testing

/// Events as they travel between nodes come back bit for bit; unknown text is refused, not guessed.
@Suite("Job events on the wire")
struct JobEventWireTests {
    @Test func everyEventRoundTripsExactly() {
        let events: [JobEventHub.Event] = [
            .progress(done: 3, fraction: 0.1 + 0.2), .progress(done: 0, fraction: 0),
            .metaIteration(7, seconds: 1.0 / 3.0), .status("cancelled"),
        ]
        for event in events {
            #expect(JobEventHub.Event(wireText: event.wireText) == event, "\(event.wireText)")
        }
    }

    @Test func unknownOrDamagedTextIsRefused() {
        for text in ["", "x 1 2", "p 1", "p one 0.5", "m 2", "s", "s two words"] {
            #expect(JobEventHub.Event(wireText: text) == nil, "\(text)")
        }
    }
}
