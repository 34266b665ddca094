import HTTPServer

/// The HTML pages, the SVG plots and the event stream (issue 4).
extension RewindAPI {
    func indexPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        throw .notFound("the dashboard is not built yet")
    }

    func jobPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        throw .notFound("the dashboard is not built yet")
    }

    func jobPlot(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        throw .notFound("plots are not built yet")
    }

    /// `text/event-stream` of `progress`, `meta_iteration` and `status` events; `Last-Event-ID`
    /// (or `?last_event_id=`) resumes after the items already seen; ends after the terminal status.
    func jobEvents(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"])
        let resume = context.request.headers["Last-Event-ID"] ?? context.request.query("last_event_id")
        var seen = 0
        if let resume {
            guard let value = Int(resume), value >= 0 else {
                throw .invalidQuery("last_event_id", "must be a non-negative integer (an event id)")
            }
            seen = min(value, record.progressTotal)
        }
        let writer = ResponseStreamWriter()
        let stream = JobEventStream(jobID: record.id, store: store, writer: writer, resumeFrom: seen)
        let subscription = runner.events.subscribe(jobID: record.id) { _, event in
            stream.queue.async { stream.handle(event) }
        }
        eventStreams.add(stream)
        let streams = eventStreams
        writer.onClose { _ in
            subscription.cancel()
            streams.remove(stream)
        }
        stream.queue.async { stream.replay() }
        var headers = HTTPHeaders()
        headers.set("X-Accel-Buffering", "no")
        return .eventStream(writer, headers: headers)
    }
}
