import Dashboard
import Foundation
import HTTPServer
import JSON
import Jobs
import Storage
import Tuning

/// The dashboard's pages beyond the job list and a job: comparing jobs and the data sets, both
/// plain HTML forms that work without a script.
extension RewindAPI {
    /// `GET /compare?jobs=A&jobs=B` (or `jobs=A,B`): the chosen jobs overlaid, and a form to choose.
    func comparePage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        var ids: [String] = []
        for item in context.request.queryItems where item.name == "jobs" {
            for id in item.value.split(separator: ",").map(String.init) where !id.isEmpty && !ids.contains(id) {
                ids.append(id)
            }
        }
        var notices: [String] = []
        if ids.count > DashboardPages.maximumCompared {
            notices.append("Showing the first \(DashboardPages.maximumCompared) of \(ids.count) jobs.")
            ids = Array(ids.prefix(DashboardPages.maximumCompared))
        }
        var compared: [DashboardPages.ComparedJob] = []
        // The page plots a few numbers per item, which storage keeps beside each item: the items
        // themselves (megabytes each for a distillation job) are never read.
        let reservation = try reservePageMemory(Self.pageWorkingBytes)
        defer { reservation.release() }
        for id in ids {
            guard let record = try storage({ try store.job(id: id) }), context.credential.sees(record.owner) else {
                notices.append("There is no job \(id).")
                continue
            }
            let items = try historyOutlines(jobID: record.id).map(Self.comparedItem)
            compared.append(DashboardPages.ComparedJob(resource: jobResource(record), items: items))
        }
        let recent = try storage { try store.listJobs(status: nil, owner: context.credential.visibleOwner, limit: 50) }
            .jobs.map { jobResource($0, view: .summary) }
        let html = DashboardPages.compare(
            compared, choices: recent, notice: notices.isEmpty ? nil : notices.joined(separator: " "),
            csrfToken: csrfToken(for: context.credential))
        return HTTPResponse(text: html, contentType: "text/html; charset=utf-8")
    }

    /// The numbers the comparison draws of one item, from its outline.
    static func comparedItem(_ row: HistoryOutline) -> JSONValue {
        .object(outlineNumbers(row))
    }

    /// `GET /datasets`: built-in and uploaded data sets with an upload form; `?uploaded=ID` reports
    /// the upload that redirected here.
    func datasetsPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        try datasetsHTML(
            context,
            notice: context.request.query("uploaded").flatMap { id in
                (try? store.dataset(id: id))?.flatMap { context.credential.sees($0.owner) ? $0 : nil }.map {
                    "Uploaded \($0.name): \($0.rows) rows × \($0.features) features, \($0.classes) classes."
                }
            })
    }

    /// `POST /datasets` from the page's form: the upload of `POST /v1/datasets`, then back to the
    /// list (303), or the list again with the reason it was refused.
    func uploadDatasetPage(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        let answer: HTTPResponse
        do {
            answer = try uploadDataset(context)
        } catch {
            var page = try datasetsHTML(context, error: "\(error.problem.title): \(error.problem.detail)")
            page.status = HTTPStatus(code: error.problem.status)
            return page
        }
        // The answer's Location is /v1/datasets/{id}.
        let id = answer.headers["Location"].map { String($0.split(separator: "/").last ?? "") } ?? ""
        let encoded = id.addingPercentEncoding(withAllowedCharacters: CharacterSet.alphanumerics) ?? ""
        var headers = HTTPHeaders()
        headers.set("Location", "/datasets?uploaded=\(encoded)")
        return HTTPResponse(status: HTTPStatus(code: 303), headers: headers)
    }

    private func datasetsHTML(
        _ context: RouteContext, notice: String? = nil, error: String? = nil
    ) throws(APIError) -> HTTPResponse {
        let uploaded = try storage { try store.listDatasets(owner: context.credential.visibleOwner) }
        let all = BuiltinDatasets.names.map(Self.builtinResource) + uploaded.map(Self.datasetResource)
        return HTTPResponse(
            text: DashboardPages.datasets(
                all, notice: notice, error: error, csrfToken: csrfToken(for: context.credential)),
            contentType: "text/html; charset=utf-8")
    }
}
