/// The engine-neutral half of `listJobs`: the filter's arguments, which of the four keyset
/// statements applies, and the page cut from the rows — each engine only supplies its SQL.
///
/// Listings ask for one row more than the page holds: its presence tells whether another page exists.
struct JobListing {
    /// Which keyset statement a listing runs: all jobs or one status, from the top or after a token.
    enum Query {
        case first, after, statusFirst, statusAfter
    }

    let status: JobStatus?
    let limit: Int
    let query: Query
    let arguments: SQLArguments

    /// - Throws: `StoreError.invalidPageToken` for a token not issued by this listing.
    init(status: JobStatus?, owner: String?, limit: Int, pageToken: String?) throws {
        precondition(limit > 0, "a page holds at least one job")
        var arguments: SQLArguments = [":limit": .integer(limit + 1), ":owner": .text(owner)]
        if let status { arguments[":status"] = .text(status.rawValue) }
        if let pageToken {
            guard let token = PageToken(encoded: pageToken, status: status) else { throw StoreError.invalidPageToken }
            arguments[":created_ms"] = .integer(token.createdMs)
            arguments[":id"] = .text(token.id)
        }
        query =
            switch (status != nil, pageToken != nil) {
            case (false, false): .first
            case (false, true): .after
            case (true, false): .statusFirst
            case (true, true): .statusAfter
            }
        self.status = status
        self.limit = limit
        self.arguments = arguments
    }

    /// The page of `rows` (which hold at most `limit + 1` jobs), with a token when more follow.
    func page(_ rows: [JobRecord]) -> JobPage {
        guard rows.count > limit else { return JobPage(jobs: rows, nextPageToken: nil) }
        let jobs = Array(rows.prefix(limit))
        let last = jobs[jobs.count - 1]
        return JobPage(
            jobs: jobs, nextPageToken: PageToken(status: status, createdMs: last.createdMs, id: last.id).encoded)
    }
}
