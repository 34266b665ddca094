/// The stylesheet and scripts of the pages, served from `/assets/` (never inline, so the
/// Content-Security-Policy can forbid inline scripts): nothing comes from anywhere but Rewind.
public enum DashboardAssets {
    /// The asset `name` (`rewind.css`, `common.js`, ...) with its content type; nil if unknown.
    public static func named(_ name: String) -> (body: String, contentType: String)? {
        switch name {
        case "rewind.css": (stylesheet + barWidths, "text/css; charset=utf-8")
        case "common.js": (commonScript, javaScript)
        case "index.js": (DashboardPages.indexScript, javaScript)
        case "plots.js": (DashboardPages.plotsLoadedScript, javaScript)
        case "live.js": (DashboardPages.liveScript, javaScript)
        case "actions.js": (DashboardPages.actionsScript, javaScript)
        default: nil
        }
    }

    static let javaScript = "text/javascript; charset=utf-8"

    /// `.w0` … `.w100`: a progress bar's width as a class, because the policy allows no inline
    /// `style` attribute (scripts still set `style.width`, which the policy allows).
    static let barWidths = (0...100).map { ".bar>span.w\($0){width:\($0)%}" }.joined(separator: "\n") + "\n"

    static let stylesheet = """
        :root{--ink:#1f2328;--muted:#59636e;--line:#d0d7de;--soft:#f6f8fa;--accent:#0969da;--bad:#cf222e}
        *{box-sizing:border-box}
        body{margin:0;background:var(--soft);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
        a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
        .top{background:#fff;border-bottom:1px solid var(--line);padding:10px 24px;display:flex;gap:20px;align-items:baseline}
        .brand{font-weight:700;font-size:16px;color:var(--ink)}.top nav a{color:var(--muted)}.top nav{display:flex;gap:16px}.sign-out{margin:0 0 0 16px}
        table.jobs{margin-top:4px}
        main{max-width:1120px;margin:0 auto;padding:20px 24px 48px}
        h1{font-size:22px;margin:0 0 12px}.title-row h1{margin:0}h2{font-size:16px;margin:0 0 12px}
        .card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:16px 20px;margin:16px 0}
        .muted{color:var(--muted)}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px}
        table{width:100%;border-collapse:collapse;background:#fff;border:1px solid var(--line);border-radius:8px;overflow:hidden}
        th,td{text-align:left;padding:9px 12px;border-bottom:1px solid #eaeef2;vertical-align:middle}
        th{background:var(--soft);font-weight:600;font-size:12px;color:var(--muted);text-transform:uppercase;letter-spacing:.03em}
        tr:last-child td{border-bottom:0}td.num{font-variant-numeric:tabular-nums}
        .badge{display:inline-block;padding:1px 9px;border-radius:999px;font-size:12px;font-weight:600;border:1px solid transparent}
        .badge-queued{background:#eaeef2;color:#424a53}.badge-running{background:#ddf4ff;color:#0550ae}
        .badge-succeeded{background:#dafbe1;color:#116329}.badge-failed{background:#ffebe9;color:#a40e26}
        .badge-cancelled{background:#fff8c5;color:#7d4e00}.badge-unknown{background:#eaeef2;color:#424a53}
        .bar{height:8px;min-width:120px;background:#eaeef2;border-radius:4px;overflow:hidden}
        .bar>span{display:block;height:100%;background:var(--accent);transition:width .4s}
        .progress{display:flex;flex-direction:column;gap:3px}.progress small{color:var(--muted);font-variant-numeric:tabular-nums}
        .title-row{display:flex;gap:12px;align-items:center;flex-wrap:wrap}
        .stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin:16px 0 4px}
        .stats div{border-left:3px solid var(--line);padding-left:10px}.stats dt{font-size:12px;color:var(--muted)}
        .stats dd{margin:0;font-size:18px;font-variant-numeric:tabular-nums}
        .actions{display:flex;gap:12px;align-items:center;flex-wrap:wrap;margin-top:12px}
        button{font:inherit;padding:6px 14px;border-radius:6px;border:1px solid var(--line);background:#f6f8fa;cursor:pointer}
        button.primary{background:#1f883d;border-color:#1a7f37;color:#fff}button.danger{color:var(--bad)}
        button:disabled{opacity:.6;cursor:default}
        textarea{width:100%;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;border:1px solid var(--line);border-radius:6px;padding:10px;resize:vertical}
        .errors,.error-box{background:#ffebe9;border:1px solid #ffcecb;border-radius:6px;padding:10px 14px;margin-top:12px;color:#82071e}
        .errors ul{margin:6px 0 0;padding-left:18px}.errors code{font-weight:600}
        .warnings{background:#fff8c5;border:1px solid #eac54f;border-radius:6px;padding:10px 14px;margin-top:12px;color:#4d2d00}
        .warnings ul{margin:6px 0 0;padding-left:18px}.warnings code{font-weight:600}
        .plots{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:16px}
        .plots figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
        .plots img{display:block;width:100%;height:auto}
        pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:12px;overflow:auto;font-size:12px}
        details summary{cursor:pointer;color:var(--muted)}
        @media (max-width:640px){main{padding:12px}.plots{grid-template-columns:1fr}th:nth-child(5),td:nth-child(5){display:none}}
        """

    /// Shared by both pages: number spellings that match the server's, and small DOM helpers.
    static let commonScript = """
        const Rewind = (() => {
          'use strict';
          const statuses = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];
          const terminal = ['succeeded', 'failed', 'cancelled'];
          function el(tag, cls, text) {
            const e = document.createElement(tag);
            if (cls) e.className = cls;
            if (text !== undefined && text !== null) e.textContent = String(text);
            return e;
          }
          function significant(x) {
            if (typeof x !== 'number' || !isFinite(x)) return '\\u2013';
            if (x === 0) return '0';
            const m = Math.abs(x);
            if (m >= 1e5 || m < 1e-3) return x.toExponential(2).replace(/\\.?0+e/, 'e').replace('e+', 'e');
            return x.toFixed(Math.max(0, 3 - Math.floor(Math.log10(m))));
          }
          function percent(x) {
            return (typeof x === 'number' && isFinite(x)) ? (x * 100).toFixed(1) + ' %' : '\\u2013';
          }
          function age(ms) {
            const s = Math.max(0, Math.floor((Date.now() - ms) / 1000));
            if (s < 5) return 'just now';
            if (s < 60) return s + ' s ago';
            if (s < 3600) return Math.floor(s / 60) + ' min ago';
            if (s < 86400) return Math.floor(s / 3600) + ' h ago';
            return Math.floor(s / 86400) + ' d ago';
          }
          function setBadge(badge, status) {
            badge.className = 'badge badge-' + (statuses.includes(status) ? status : 'unknown');
            badge.textContent = String(status);
          }
          function setBar(bar, fraction) {
            const f = Math.min(1, Math.max(0, Number(fraction) || 0));
            bar.setAttribute('aria-valuenow', String(Math.round(f * 100)));
            bar.firstElementChild.style.width = (f * 100).toFixed(1) + '%';
          }
          function bar(fraction) {
            const outer = el('div', 'bar');
            outer.setAttribute('role', 'progressbar');
            outer.setAttribute('aria-valuemin', '0');
            outer.setAttribute('aria-valuemax', '100');
            outer.appendChild(el('span'));
            setBar(outer, fraction);
            return outer;
          }
          function parse(text) { try { return JSON.parse(text); } catch (e) { return null; } }
          // Requests that change state carry the page's CSRF token.
          function withToken(headers) {
            const meta = document.querySelector('meta[name="csrf-token"]');
            if (meta && meta.content) headers['X-CSRF-Token'] = meta.content;
            return headers;
          }
          function showProblem(box, problem, code) {
            box.replaceChildren();
            box.appendChild(el('strong', null, (problem && problem.title) || ('Request failed (HTTP ' + code + ')')));
            if (problem && problem.detail) box.appendChild(el('div', null, problem.detail));
            if (problem && Array.isArray(problem.errors) && problem.errors.length) {
              const list = el('ul');
              for (const e of problem.errors) {
                const item = el('li');
                item.appendChild(el('code', null, e.field || '/'));
                item.appendChild(document.createTextNode(' ' + (e.message || '')));
                list.appendChild(item);
              }
              box.appendChild(list);
            }
            box.hidden = false;
          }
          return { statuses, terminal, el, significant, percent, age, setBadge, setBar, bar, parse, showProblem, withToken };
        })();
        """
}
