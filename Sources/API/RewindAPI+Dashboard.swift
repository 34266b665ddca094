import Dashboard
import Foundation
import HTTPServer
import Jobs
import JSON
import Storage
import Tuning

/// The HTML pages, the SVG plots and the event stream: what people watch.
extension RewindAPI {
    /// `GET /`: the jobs, newest first, and a form to submit a spec.
    func indexPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let page = try storage { try store.listJobs(status: nil, limit: 100) }
        let html = DashboardPages.index(jobs: page.jobs.map(jobResource), nowMs: clock())
        return HTTPResponse(text: html, contentType: "text/html; charset=utf-8")
    }

    /// `GET /jobs/{id}`: one job with its plots, updated live while it runs.
    func jobPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        guard let record = try storage({ try store.job(id: id) }) else {
            return HTTPResponse(status: .notFound, text: DashboardPages.notFound("There is no job \(id)."), contentType: "text/html; charset=utf-8")
        }
        let spec = (try? JSONValue.parse(record.specJSON)) ?? .null
        let html = DashboardPages.job(resource: jobResource(record), plotNames: JobPlots.names(for: spec))
        return HTTPResponse(text: html, contentType: "text/html; charset=utf-8")
    }

    /// `GET /v1/jobs/{id}/plots/{name}.svg`.
    func jobPlot(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"])
        let name = context[capture: "name"]
        let spec = (try? JSONValue.parse(record.specJSON)) ?? .null
        guard JobPlots.names(for: spec).contains(name) else {
            throw .notFound("job \(record.id) has no plot \(name); it has \(JobPlots.names(for: spec).joined(separator: ", "))")
        }
        let rows = try storage { try store.history(jobID: record.id, after: -1, limit: record.progressTotal + 1) }
        let items = rows.compactMap { try? JSONValue.parse($0.itemJSON) }
        guard let svg = JobPlots.render(name: name, spec: spec, items: items, dataset: datasetShape(spec)) else {
            throw .notFound("no plot \(name)")
        }
        var headers = HTTPHeaders()
        // Finished jobs never change; running ones are re-fetched by the page on every new item.
        headers.set("Cache-Control", record.status.isTerminal ? "max-age=3600" : "no-cache")
        return HTTPResponse(headers: headers, text: svg, contentType: "image/svg+xml; charset=utf-8")
    }

    /// The data set's shape, which per-weight penalty maps need to be drawn as images.
    private func datasetShape(_ spec: JSONValue) -> JobPlots.DatasetShape? {
        guard let key = spec["dataset"]?["name"]?.stringValue ?? spec["dataset"]?["id"]?.stringValue else { return nil }
        if let builtin = BuiltinDatasets.named(key) {
            return JobPlots.DatasetShape(features: builtin.features, classes: builtin.classes)
        }
        guard let record = try? store.dataset(id: key) else { return nil }
        return JobPlots.DatasetShape(features: record.features, classes: record.classes)
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
        let stream = JobEventStream(
            jobID: record.id, total: record.progressTotal, store: store, writer: writer, resumeFrom: seen)
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
