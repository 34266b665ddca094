import Dashboard
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Tuning

/// The HTML pages, the SVG plots and the event stream: what people watch.
extension RewindAPI {
    /// `GET /`: the jobs, newest first, and a form to submit a spec.
    func indexPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let page = try storage { try store.listJobs(status: nil, owner: context.credential.visibleOwner, limit: 100) }
        let html = DashboardPages.index(
            jobs: page.jobs.map { jobResource($0, view: .summary) }, nowMs: clock(),
            csrfToken: csrfToken(for: context.credential))
        return HTTPResponse(text: html, contentType: "text/html; charset=utf-8")
    }

    /// `GET /jobs/{id}`: one job with its plots, updated live while it runs.
    func jobPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let id = context[capture: "id"]
        guard let record = try storage({ try store.job(id: id) }), context.credential.sees(record.owner) else {
            return HTTPResponse(
                status: .notFound,
                text: DashboardPages.notFound(
                    "There is no job \(id).", csrfToken: csrfToken(for: context.credential)),
                contentType: "text/html; charset=utf-8")
        }
        let spec = (try? JSONValue.parse(record.specJSON)) ?? .null
        let html = DashboardPages.job(
            resource: jobResource(record), plotNames: JobPlots.names(for: spec),
            csrfToken: csrfToken(for: context.credential))
        return HTTPResponse(text: html, contentType: "text/html; charset=utf-8")
    }

    /// `GET /assets/{name}`: the dashboard's stylesheet and scripts.
    func asset(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        guard let asset = DashboardAssets.named(context[capture: "name"]) else {
            throw .notFound("no asset \(context[capture: "name"])")
        }
        var headers = HTTPHeaders()
        headers.set("Cache-Control", "no-cache")
        return HTTPResponse(headers: headers, text: asset.body, contentType: asset.contentType)
    }

    /// `text/event-stream` of `progress`, `meta_iteration` and `status` events; `Last-Event-ID`
    /// (or `?last_event_id=`) resumes after the items already seen; ends after the terminal status.
    /// Streams are capped in total (503) and per client address (429). A stream ends within a
    /// second of its key's revocation or its session's sign-out (see `EventStreams`).
    func jobEvents(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let record = try existingJob(context[capture: "id"], context)
        // Both are checked against the bound the document publishes (event ids count history
        // items, far below it); the header wins when both are sent.
        var resume: Int?
        let sent = [
            ("last_event_id", context.request.query("last_event_id")),
            ("Last-Event-ID", context.request.headers["Last-Event-ID"]),
        ]
        for (name, text) in sent {
            guard let text else { continue }
            guard let value = Int(text), (0...Int(Int32.max)).contains(value) else {
                throw .invalidQuery(name, "must be an integer from 0 to \(Int32.max) (an event id)")
            }
            resume = value
        }
        var seen = 0
        if let value = resume {
            seen = min(value, record.progressTotal)
        }
        let client = Self.client(context.request)
        do {
            try eventStreams.reserve(
                client: client, maxTotal: configuration.maxEventStreams,
                maxPerClient: configuration.maxEventStreamsPerClient)
        } catch {
            var headers = HTTPHeaders()
            headers.set("Retry-After", "5")
            throw error == .tooManyFromClient
                ? APIError(
                    ProblemDetails(
                        status: 429, slug: "too-many-streams", title: "Too many event streams",
                        detail: "this client has \(configuration.maxEventStreamsPerClient) event streams open already"),
                    headers: headers)
                : APIError(
                    ProblemDetails(
                        status: 503, slug: "too-many-streams", title: "Too many event streams",
                        detail: "the server has \(configuration.maxEventStreams) event streams open already"),
                    headers: headers)
        }
        let writer = ResponseStreamWriter()
        let stream = JobEventStream(
            jobID: record.id, total: record.progressTotal, store: store, texts: eventTexts, writer: writer,
            resumeFrom: seen,
            credential: streamCredential(context))
        let subscription = runner.events.subscribe(jobID: record.id) { _, event in
            stream.perform { $0.handle(event) }
        }
        eventStreams.add(stream)
        let streams = eventStreams
        writer.onClose { _ in
            subscription.cancel()
            streams.remove(stream)
            streams.release(client: client)
        }
        stream.perform { $0.replay() }
        var headers = HTTPHeaders()
        headers.set("X-Accel-Buffering", "no")
        return .eventStream(writer, headers: headers)
    }
}
