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

    func jobEvents(_ context: RouteContext) throws(APIError) -> HTTPResponse {
        throw .notFound("the event stream is not built yet")
    }
}
