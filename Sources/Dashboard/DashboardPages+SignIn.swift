extension DashboardPages {
    /// The page a browser gets when the service requires an API key and it has none: a form that
    /// posts the key to `/login`, which answers with a session cookie for every later page, fetch and plot.
    public static func signIn(error: String? = nil, csrfToken: String = "") -> String {
        let message = error.map { "<div class=\"errors\" role=\"alert\">\(Markup.escape($0))</div>\n" } ?? ""
        let body = """
            <main>
            <div class="title-row"><h1>Sign in</h1></div>
            <section class="card">
            <p class="muted">This Rewind service requires an API key. Signing in starts a session that expires; the key itself is not kept by the browser.</p>
            <form id="sign-in" method="post" action="/login">
            \(csrfField(csrfToken))
            <label for="key" class="muted">API key</label>
            <input id="key" name="key" type="password" autocomplete="current-password" required>
            <div class="actions"><button type="submit" class="primary">Sign in</button></div>
            </form>
            \(message)</section>
            </main>
            """
        return page(title: "Rewind · Sign in", body: body, scripts: [], csrfToken: csrfToken)
    }

    /// `html` (a page of `page(title:body:scripts:csrfToken:)`) with a sign-out button in its
    /// header: added by the API for browsers signed in to a session, where signing out means
    /// something (without keys, or with a Bearer key, there is no session to end).
    public static func withSignOut(_ html: String, csrfToken: String) -> String {
        let form =
            "<form class=\"sign-out\" method=\"post\" action=\"/logout\">\(csrfField(csrfToken))"
            + "<button type=\"submit\">Sign out</button></form>"
        guard let end = html.range(of: "</nav></header>") else { return html }
        return html.replacingCharacters(in: end, with: "</nav>\(form)</header>")
    }
}
