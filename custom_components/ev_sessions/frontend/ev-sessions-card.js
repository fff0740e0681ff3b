/*
 * EV Sessions card: one wallbox's charging session, plan, prices and bill.
 *
 * Shipped inside the ev_sessions integration and loaded by Home Assistant on every dashboard
 * page (no resource to add, nothing from a CDN). Plain web components, no build step: this file
 * is the source. The data comes from the `ev_sessions/dashboard` websocket subscription, which
 * sends a wallbox's session, plan, prices (all-in, today and tomorrow), last sessions and this
 * month per user, at most every 5 seconds when something changed.
 *
 *   type: custom:ev-sessions-card
 *   entry_id: <the wallbox's config entry>   # picked in the visual editor
 *   title: Garage                             # optional, the wallbox's name otherwise
 *   sessions: 5                               # last sessions listed (0 hides them)
 *   show_plan: true
 *   show_users: true                          # a shared garage: this month per user
 */

const CARD_VERSION = "0.1.0";

const STRINGS = {
  en: {
    name: "EV Sessions",
    description: "Charging session, plan and prices of a wallbox, and the last sessions.",
    status: {
      disconnected: "Disconnected",
      connected: "Connected",
      charging: "Charging",
      suspended: "Paused",
      error: "Error",
    },
    no_session: "No car plugged in",
    energy: "Energy",
    target: "Target",
    power: "Power",
    soc: "Battery",
    cost: "Cost so far",
    cost_column: "Cost",
    user: "User",
    ready: "Ready by",
    departure: "Departure",
    price_now: "Price now",
    plan: "Plan",
    planned: "Planned",
    plan_summary: "{energy} planned for {cost}",
    no_prices: "No prices known yet",
    today: "Today",
    tomorrow: "Tomorrow",
    now: "Now",
    estimated: "estimate",
    at_risk: "Departure target at risk",
    risk: {
      shortfall: "{kwh} short of the target by departure",
      under_delivering: "The car takes less power than expected",
      overload: "The house connection is overloaded",
    },
    delivery: {
      fewer_phases: "fewer phases than the wallbox has",
      battery_nearly_full: "battery nearly full",
      car_or_cable_limit: "car, cable or heat limit",
    },
    last_sessions: "Last sessions",
    no_sessions: "No sessions yet",
    this_month: "This month",
    month_total: "{energy}, {cost}",
    sessions_count: "Sessions",
    unknown_user: "Unknown",
    duration: "Duration",
    start: "Start",
    not_found: "This wallbox is not loaded. Pick another one in the card's settings.",
    pick: "Pick a wallbox in the card's settings.",
    loading: "Loading…",
    editor: {
      entry: "Wallbox",
      title: "Title (optional)",
      sessions: "Last sessions to list",
      show_plan: "Show the plan and prices",
      show_users: "Show this month per user",
      none: "No EV Sessions wallbox is set up yet.",
    },
  },
  sv: {
    name: "EV Sessions",
    description: "Laddbox: pågående laddning, plan och priser, och de senaste laddningarna.",
    status: {
      disconnected: "Frånkopplad",
      connected: "Ansluten",
      charging: "Laddar",
      suspended: "Pausad",
      error: "Fel",
    },
    no_session: "Ingen bil ansluten",
    energy: "Energi",
    target: "Mål",
    power: "Effekt",
    soc: "Batteri",
    cost: "Kostnad hittills",
    cost_column: "Kostnad",
    user: "Användare",
    ready: "Klar",
    departure: "Avresa",
    price_now: "Pris nu",
    plan: "Plan",
    planned: "Planerad",
    plan_summary: "{energy} planerat för {cost}",
    no_prices: "Inga priser kända ännu",
    today: "I dag",
    tomorrow: "I morgon",
    now: "Nu",
    estimated: "uppskattat",
    at_risk: "Målet vid avresa är i fara",
    risk: {
      shortfall: "{kwh} kvar till målet vid avresa",
      under_delivering: "Bilen tar emot mindre effekt än väntat",
      overload: "Husets anslutning är överbelastad",
    },
    delivery: {
      fewer_phases: "färre faser än laddboxen har",
      battery_nearly_full: "batteriet nästan fullt",
      car_or_cable_limit: "bilens, kabelns eller värmens gräns",
    },
    last_sessions: "Senaste laddningar",
    no_sessions: "Inga laddningar ännu",
    this_month: "Denna månad",
    month_total: "{energy}, {cost}",
    sessions_count: "Laddningar",
    unknown_user: "Okänd",
    duration: "Tid",
    start: "Start",
    not_found: "Laddboxen är inte laddad. Välj en annan i kortets inställningar.",
    pick: "Välj en laddbox i kortets inställningar.",
    loading: "Laddar…",
    editor: {
      entry: "Laddbox",
      title: "Rubrik (valfri)",
      sessions: "Antal senaste laddningar",
      show_plan: "Visa plan och priser",
      show_users: "Visa denna månad per användare",
      none: "Ingen laddbox i EV Sessions är konfigurerad ännu.",
    },
  },
};

function language(hass) {
  const lang = (hass && ((hass.locale && hass.locale.language) || hass.language)) || "en";
  return lang.toLowerCase().startsWith("sv") ? "sv" : "en";
}

function strings(hass) {
  return STRINGS[language(hass)];
}

function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (_, key) => (key in values ? values[key] : `{${key}}`));
}

function escape(value) {
  return String(value ?? "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** Formatting in the user's language and, when they chose it, the server's time zone. */
class Format {
  constructor(hass) {
    this.lang = (hass.locale && hass.locale.language) || hass.language || "en";
    const zone = hass.locale && hass.locale.time_zone;
    this.timeZone = zone === "server" || !zone ? hass.config.time_zone : undefined;
    this.hour12 = hass.locale && hass.locale.time_format === "12" ? true : undefined;
    if (hass.locale && hass.locale.time_format === "24") this.hour12 = false;
  }

  number(value, digits) {
    return new Intl.NumberFormat(this.lang, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  unit(value, digits, unit) {
    return value === null || value === undefined ? "–" : `${this.number(value, digits)} ${unit}`;
  }

  time(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(this.lang, {
      hour: "2-digit",
      minute: "2-digit",
      hour12: this.hour12,
      timeZone: this.timeZone,
    }).format(new Date(iso));
  }

  dayTime(iso) {
    if (!iso) return "–";
    return new Intl.DateTimeFormat(this.lang, {
      weekday: "short",
      day: "numeric",
      month: "short",
      hour: "2-digit",
      minute: "2-digit",
      hour12: this.hour12,
      timeZone: this.timeZone,
    }).format(new Date(iso));
  }

  hourOf(iso) {
    const parts = new Intl.DateTimeFormat("en-GB", {
      hour: "2-digit",
      hourCycle: "h23",
      timeZone: this.timeZone,
    }).formatToParts(new Date(iso));
    return Number(parts.find((part) => part.type === "hour").value);
  }

  duration(hours) {
    if (hours === null || hours === undefined) return "–";
    const minutes = Math.round(hours * 60);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return h ? `${h} h ${String(m).padStart(2, "0")} min` : `${m} min`;
  }
}

const STYLE = `
  :host { display: block; }
  ha-card { padding: 16px; overflow: hidden; }
  .header { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
  .title { font-size: 1.25em; font-weight: 500; color: var(--primary-text-color); }
  .chip { border-radius: 12px; padding: 2px 10px; font-size: 0.85em; white-space: nowrap;
    background: var(--secondary-background-color); color: var(--primary-text-color); }
  .chip.charging { background: var(--primary-color); color: var(--text-primary-color, #fff); }
  .chip.error { background: var(--error-color); color: var(--text-primary-color, #fff); }
  .muted { color: var(--secondary-text-color); }
  .section { margin-top: 16px; }
  .section h3 { margin: 0 0 6px; font-size: 0.95em; font-weight: 500;
    color: var(--secondary-text-color); text-transform: none; }
  .energy { display: flex; align-items: baseline; gap: 6px; margin-top: 12px; }
  .energy .big { font-size: 2em; font-weight: 400; color: var(--primary-text-color); }
  .progress { height: 8px; border-radius: 4px; background: var(--divider-color, #e0e0e0);
    overflow: hidden; margin: 6px 0 10px; }
  .progress > div { height: 100%; background: var(--primary-color); }
  .facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(110px, 1fr)); gap: 8px; }
  .fact { cursor: pointer; }
  .fact .label { font-size: 0.8em; color: var(--secondary-text-color); }
  .fact .value { font-size: 1.05em; color: var(--primary-text-color); }
  .warning { margin-top: 12px; padding: 8px 12px; border-radius: 8px;
    background: rgba(var(--rgb-error-color, 219, 68, 55), 0.12);
    border-left: 4px solid var(--error-color, #db4437); color: var(--primary-text-color); }
  .warning strong { display: block; color: var(--error-color, #db4437); }
  .chart { position: relative; height: 150px; }
  .chart svg { position: absolute; inset: 0; width: 100%; height: 100%; }
  .chart span { position: absolute; font-size: 10px; line-height: 12px; white-space: nowrap;
    color: var(--secondary-text-color); }
  .chart .hour { bottom: 2px; padding-left: 2px; }
  .chart .top { top: 0; right: 0; }
  .bar { fill: var(--disabled-text-color, #bdbdbd); }
  .bar.planned { fill: var(--primary-color); }
  .bar.estimated { opacity: 0.45; }
  line { vector-effect: non-scaling-stroke; }
  .now-line { stroke: var(--primary-text-color); stroke-width: 1; }
  .departure-line { stroke: var(--success-color, #43a047); stroke-width: 2; stroke-dasharray: 4 3; }
  .departure-line.risk { stroke: var(--error-color, #db4437); }
  .day-line { stroke: var(--divider-color, #e0e0e0); stroke-width: 1; }
  .legend { display: flex; flex-wrap: wrap; gap: 12px; font-size: 0.85em;
    color: var(--secondary-text-color); margin-top: 4px; }
  .legend .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
    margin-right: 4px; vertical-align: middle; }
  table { width: 100%; border-collapse: collapse; font-size: 0.9em; color: var(--primary-text-color); }
  th { text-align: left; font-weight: 500; color: var(--secondary-text-color); padding: 4px 4px 4px 0; }
  td { padding: 4px 4px 4px 0; border-top: 1px solid var(--divider-color, #e0e0e0); }
  td.num, th.num { text-align: right; white-space: nowrap; }
  .message { padding: 8px 0; color: var(--secondary-text-color); }
  @media (max-width: 420px) { ha-card { padding: 12px; } .energy .big { font-size: 1.6em; } }
`;

class EvSessionsCard extends HTMLElement {
  static getConfigElement() {
    return document.createElement("ev-sessions-card-editor");
  }

  static async getStubConfig(hass) {
    const entries = await loadEntries(hass);
    return { entry_id: entries.length ? entries[0].entry_id : "" };
  }

  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._data = null;
    this._error = null;
    this._unsubscribe = null;
    this._subscribedTo = null;
  }

  setConfig(config) {
    if (!config || typeof config !== "object") throw new Error("Invalid configuration");
    this._config = {
      sessions: 5,
      show_plan: true,
      show_users: true,
      ...config,
    };
    if (this._subscribedTo && this._subscribedTo !== this._key()) this._resubscribe();
    this._render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (!this._unsubscribe && this.isConnected) this._subscribe();
    if (first) this._render();
  }

  get hass() {
    return this._hass;
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe) this._subscribe();
  }

  disconnectedCallback() {
    this._drop();
  }

  getCardSize() {
    return 7;
  }

  getGridOptions() {
    return { columns: 12, min_columns: 6, rows: "auto" };
  }

  _key() {
    return `${this._config.entry_id}|${this._config.sessions}`;
  }

  _drop() {
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = null;
    this._subscribedTo = null;
    if (unsubscribe) unsubscribe.then((stop) => stop && stop()).catch(() => {});
  }

  _resubscribe() {
    this._drop();
    this._data = null;
    this._subscribe();
  }

  _subscribe() {
    if (!this._config || !this._config.entry_id || !this._hass) return;
    this._subscribedTo = this._key();
    this._error = null;
    this._unsubscribe = this._hass.connection
      .subscribeMessage(
        (message) => {
          if (message.gone) {
            // The wallbox was reloaded: follow its new set-up.
            setTimeout(() => this.isConnected && this._resubscribe(), 2000);
            return;
          }
          this._data = message;
          this._error = null;
          this._render();
        },
        {
          type: "ev_sessions/dashboard",
          entry_id: this._config.entry_id,
          sessions: Number(this._config.sessions) || 0,
        },
      )
      .catch((err) => {
        this._unsubscribe = null;
        this._error = err && err.code === "not_found" ? "not_found" : String(err && err.message);
        this._render();
        return null;
      });
  }

  _more(key) {
    const entityId = this._data && this._data.entities && this._data.entities[key];
    if (!entityId) return;
    this.dispatchEvent(
      new CustomEvent("hass-more-info", { detail: { entityId }, bubbles: true, composed: true }),
    );
  }

  _render() {
    if (!this._config || !this._hass) return;
    const t = strings(this._hass);
    const f = new Format(this._hass);
    const data = this._data;
    let body;
    if (!this._config.entry_id) body = `<div class="message">${escape(t.pick)}</div>`;
    else if (this._error === "not_found") body = `<div class="message">${escape(t.not_found)}</div>`;
    else if (this._error) body = `<div class="message">${escape(this._error)}</div>`;
    else if (!data) body = `<div class="message">${escape(t.loading)}</div>`;
    else body = this._body(data, t, f);
    const title = (this._config.title || (data && data.title) || t.name).trim();
    const status = data ? data.status : null;
    this.shadowRoot.innerHTML = `
      <style>${STYLE}</style>
      <ha-card lang="${language(this._hass)}">
        <div class="header">
          <div class="title">${escape(title)}</div>
          ${status ? `<span class="chip ${escape(status)}" data-more="status">${escape(t.status[status] || status)}</span>` : ""}
        </div>
        ${body}
      </ha-card>`;
    this.shadowRoot.querySelectorAll("[data-more]").forEach((element) => {
      element.addEventListener("click", () => this._more(element.dataset.more));
    });
  }

  _body(data, t, f) {
    const parts = [this._session(data, t, f)];
    if (this._config.show_plan !== false) parts.push(this._plan(data, t, f));
    if (Number(this._config.sessions) > 0) parts.push(this._sessions(data, t, f));
    if (this._config.show_users !== false) parts.push(this._users(data, t, f));
    return parts.join("");
  }

  _fact(key, label, value) {
    return `<div class="fact" data-more="${escape(key)}" data-fact="${escape(key)}">
      <div class="label">${escape(label)}</div><div class="value">${escape(value)}</div></div>`;
  }

  _session(data, t, f) {
    const session = data.session;
    const price = data.price !== null && data.price !== undefined
      ? this._fact("price", t.price_now, `${f.number(data.price, 2)} ${data.currency}/kWh`)
      : "";
    if (!session) {
      return `<div class="section" data-section="session">
        <div class="message">${escape(t.no_session)}</div>
        <div class="facts">${price}</div></div>`;
    }
    const share = session.target_kwh > 0 ? Math.min(1, session.energy_kwh / session.target_kwh) : 0;
    const facts = [
      this._fact("power", t.power, f.unit(session.power_kw, 1, "kW")),
      session.soc !== null && session.soc !== undefined
        ? this._fact("soc", t.soc, `${f.number(session.soc, 0)} %`)
        : "",
      this._fact(
        "session_cost",
        t.cost,
        session.cost === null ? "–" : `${f.number(session.cost, 2)} ${data.currency}`,
      ),
      session.user ? this._fact("session_energy", t.user, session.user) : "",
      this._fact("estimated_completion", t.ready, f.time(session.estimated_completion)),
      this._fact("departure", t.departure, f.dayTime(session.departure)),
      price,
    ].join("");
    return `<div class="section" data-section="session">
      <div class="energy" data-more="session_energy">
        <span class="big" data-value="energy">${escape(f.number(session.energy_kwh, 1))}</span>
        <span class="muted">/ ${escape(f.unit(session.target_kwh, 1, "kWh"))} ${escape(t.target.toLowerCase())}</span>
      </div>
      <div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100"
        aria-valuenow="${Math.round(share * 100)}"><div style="width:${(share * 100).toFixed(1)}%"></div></div>
      <div class="facts">${facts}</div>
      ${this._risks(data, t, f)}
    </div>`;
  }

  _risks(data, t, f) {
    if (!data.risks || !data.risks.length) return "";
    const lines = data.risks.map((risk) => {
      let text = t.risk[risk.kind] || risk.kind;
      if (risk.kind === "shortfall") text = fill(text, { kwh: f.unit(risk.shortfall_kwh, 1, "kWh") });
      if (risk.kind === "under_delivering" && risk.reason && t.delivery[risk.reason]) {
        text = `${text}: ${t.delivery[risk.reason]}`;
      }
      return `<div data-risk="${escape(risk.kind)}">${escape(text)}</div>`;
    });
    return `<div class="warning" role="alert" data-more="target_at_risk">
      <strong>${escape(t.at_risk)}</strong>${lines.join("")}</div>`;
  }

  _plan(data, t, f) {
    const prices = data.prices || [];
    if (!prices.length) {
      return `<div class="section" data-section="plan"><h3>${escape(t.plan)}</h3>
        <div class="message">${escape(t.no_prices)}</div></div>`;
    }
    const slots = (data.plan && data.plan.slots) || [];
    const planned = slots.map((slot) => [Date.parse(slot.start), Date.parse(slot.end)]);
    const start = Date.parse(prices[0].start);
    const end = Date.parse(prices[prices.length - 1].end);
    const span = Math.max(1, end - start);
    const width = 1000;
    const height = 150;
    const top = 14;
    const bottom = 20;
    const plot = height - top - bottom;
    const highest = Math.max(...prices.map((p) => p.price), 0.0001);
    const lowest = Math.min(...prices.map((p) => p.price), 0);
    const range = highest - lowest || 1;
    const x = (ms) => ((ms - start) / span) * width;
    const y = (value) => top + plot - ((value - lowest) / range) * plot;
    const bars = prices.map((interval) => {
      const from = Date.parse(interval.start);
      const to = Date.parse(interval.end);
      const isPlanned = planned.some(([a, b]) => a < to && b > from);
      const left = x(from);
      // Hourly bars get a gap between them; quarter-hour ones would turn into stripes.
      const barWidth = Math.max(0.5, x(to) - left - (x(to) - left > 12 ? 2 : 0));
      const classes = ["bar", isPlanned ? "planned" : "", interval.estimated ? "estimated" : ""];
      return `<rect class="${classes.join(" ").trim()}" data-start="${escape(interval.start)}"
        ${isPlanned ? 'data-planned="1"' : ""}
        x="${left.toFixed(2)}" y="${y(interval.price).toFixed(2)}" width="${barWidth.toFixed(2)}"
        height="${Math.max(0.5, y(lowest) - y(interval.price)).toFixed(2)}"><title>${escape(
          `${f.dayTime(interval.start)}: ${f.number(interval.price, 2)} ${data.currency}/kWh${
            interval.estimated ? ` (${t.estimated})` : ""
          }`,
        )}</title></rect>`;
    });
    // Lines in the chart; labels as text over it (an SVG stretched to the card's width would
    // stretch its text too).
    const lines = [];
    const labels = [];
    const percent = (ms) => `${(((ms - start) / span) * 100).toFixed(2)}%`;
    for (let hour = start; hour < end; hour += 3600 * 1000) {
      const local = f.hourOf(new Date(hour).toISOString());
      if (local % 6 !== 0) continue;
      // Midnight is named by its day, in the hours' row: the top row is the highest price's,
      // and a day's name up there ran into it when tomorrow began in the chart's last quarter.
      if (local === 0) {
        const day = hour - start < 12 * 3600 * 1000 ? t.today : t.tomorrow;
        lines.push(`<line class="day-line" x1="${x(hour)}" x2="${x(hour)}" y1="0" y2="${height - bottom}"></line>`);
        labels.push(`<span class="hour day" style="left:${percent(hour)}">${escape(day)}</span>`);
      } else {
        labels.push(`<span class="hour" style="left:${percent(hour)}">${String(local).padStart(2, "0")}</span>`);
      }
    }
    const now = Date.now();
    if (now >= start && now <= end) {
      lines.push(`<line class="now-line" x1="${x(now)}" x2="${x(now)}" y1="${top}" y2="${height - bottom}"></line>`);
    }
    const departure = data.session && data.departure ? Date.parse(data.departure) : null;
    const atRisk = (data.risks || []).some((risk) => risk.kind === "shortfall");
    if (departure && departure >= start && departure <= end) {
      lines.push(`<line class="departure-line${atRisk ? " risk" : ""}" data-departure="${escape(data.departure)}"
        x1="${x(departure)}" x2="${x(departure)}" y1="${top}" y2="${height - bottom}"></line>`);
    }
    labels.push(`<span class="top">${escape(`${f.number(highest, 2)} ${data.currency}/kWh`)}</span>`);
    const summary = data.plan && data.plan.slots.length
      ? fill(t.plan_summary, {
          energy: f.unit(data.plan.energy_kwh, 1, "kWh"),
          cost: `${f.number(data.plan.cost, 2)} ${data.currency}`,
        })
      : "";
    return `<div class="section" data-section="plan">
      <h3>${escape(t.plan)}</h3>
      <div class="chart">
        <svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img"
          shape-rendering="crispEdges" aria-label="${escape(t.plan)}">${bars.join("")}${lines.join("")}</svg>
        ${labels.join("")}
      </div>
      <div class="legend">
        ${slots.length ? `<span><span class="swatch" style="background:var(--primary-color)"></span>${escape(t.planned)}</span>` : ""}
        ${departure ? `<span><span class="swatch" style="background:var(--success-color, #43a047)"></span>${escape(t.departure)} ${escape(f.time(data.departure))}</span>` : ""}
        ${summary ? `<span data-value="plan-summary">${escape(summary)}</span>` : ""}
      </div>
    </div>`;
  }

  _sessions(data, t, f) {
    const sessions = data.sessions || [];
    const withUsers = sessions.some((session) => session.user);
    const rows = sessions.map(
      (session) => `<tr data-session="${escape(session.id)}">
        <td>${escape(f.dayTime(session.start))}</td>
        ${withUsers ? `<td>${escape(session.user || t.unknown_user)}</td>` : ""}
        <td class="num">${escape(f.unit(session.energy_kwh, 1, "kWh"))}</td>
        <td class="num">${escape(f.duration(session.duration_h))}</td>
        <td class="num">${session.cost === null ? "–" : escape(`${f.number(session.cost, 2)} ${data.currency}`)}</td>
      </tr>`,
    );
    return `<div class="section" data-section="sessions">
      <h3>${escape(t.last_sessions)}</h3>
      ${rows.length ? `<table><tbody>${rows.join("")}</tbody></table>` : `<div class="message">${escape(t.no_sessions)}</div>`}
    </div>`;
  }

  _users(data, t, f) {
    const month = data.month || {};
    const users = (month.users || []).filter((row) => row.user);
    const total = fill(t.month_total, {
      energy: f.unit(month.energy_kwh, 1, "kWh"),
      cost: month.cost === null || month.cost === undefined ? "–" : `${f.number(month.cost, 2)} ${data.currency}`,
    });
    if (!users.length) {
      return `<div class="section" data-section="month"><h3>${escape(t.this_month)}</h3>
        <div class="facts"><div class="fact" data-more="month_cost"><div class="value">${escape(total)}</div></div></div></div>`;
    }
    const rows = (month.users || []).map(
      (row) => `<tr data-user="${escape(row.user)}">
        <td>${escape(row.user || t.unknown_user)}</td>
        <td class="num">${escape(String(row.sessions))}</td>
        <td class="num">${escape(f.unit(row.energy_kwh, 1, "kWh"))}</td>
        <td class="num">${row.cost === null ? "–" : escape(`${f.number(row.cost, 2)} ${data.currency}`)}</td>
      </tr>`,
    );
    return `<div class="section" data-section="month">
      <h3>${escape(t.this_month)}: ${escape(total)}</h3>
      <table><thead><tr><th>${escape(t.user)}</th><th class="num">${escape(t.sessions_count)}</th>
        <th class="num">${escape(t.energy)}</th><th class="num">${escape(t.cost_column)}</th></tr></thead>
        <tbody>${rows.join("")}</tbody></table>
    </div>`;
  }
}

async function loadEntries(hass) {
  try {
    const entries = await hass.callWS({ type: "config_entries/get", domain: "ev_sessions" });
    return entries.filter((entry) => entry.state === "loaded" || entry.state === "not_loaded");
  } catch (err) {
    return [];
  }
}

/** The visual editor: pick the wallbox and what to show; no YAML needed. */
class EvSessionsCardEditor extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this._entries = null;
  }

  setConfig(config) {
    this._config = { sessions: 5, show_plan: true, show_users: true, ...config };
    this._render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) {
      loadEntries(hass).then((entries) => {
        this._entries = entries;
        this._render();
      });
    }
  }

  _changed(patch) {
    this._config = { ...this._config, ...patch };
    if (!this._config.title) delete this._config.title;
    this.dispatchEvent(
      new CustomEvent("config-changed", { detail: { config: this._config }, bubbles: true, composed: true }),
    );
  }

  _render() {
    if (!this._hass || !this._config) return;
    const t = strings(this._hass).editor;
    const entries = this._entries || [];
    const options = entries
      .map(
        (entry) => `<option value="${escape(entry.entry_id)}" ${
          entry.entry_id === this._config.entry_id ? "selected" : ""
        }>${escape(entry.title)}</option>`,
      )
      .join("");
    this.shadowRoot.innerHTML = `
      <style>
        .editor { display: grid; gap: 12px; padding: 4px 0; color: var(--primary-text-color); }
        label { display: grid; gap: 4px; font-size: 0.9em; }
        label.check { display: flex; align-items: center; gap: 8px; }
        select, input[type=text], input[type=number] { font: inherit; padding: 8px;
          border-radius: 4px; border: 1px solid var(--divider-color, #ccc);
          background: var(--card-background-color, #fff); color: var(--primary-text-color); }
      </style>
      <div class="editor">
        ${this._entries && !entries.length ? `<div>${escape(t.none)}</div>` : ""}
        <label>${escape(t.entry)}
          <select name="entry_id">${this._config.entry_id ? "" : '<option value=""></option>'}${options}</select>
        </label>
        <label>${escape(t.title)}
          <input type="text" name="title" value="${escape(this._config.title || "")}">
        </label>
        <label>${escape(t.sessions)}
          <input type="number" name="sessions" min="0" max="50" value="${escape(this._config.sessions)}">
        </label>
        <label class="check"><input type="checkbox" name="show_plan" ${this._config.show_plan !== false ? "checked" : ""}>
          ${escape(t.show_plan)}</label>
        <label class="check"><input type="checkbox" name="show_users" ${this._config.show_users !== false ? "checked" : ""}>
          ${escape(t.show_users)}</label>
      </div>`;
    const root = this.shadowRoot;
    root.querySelector("select").addEventListener("change", (event) => {
      this._changed({ entry_id: event.target.value });
    });
    root.querySelector("input[name=title]").addEventListener("change", (event) => {
      this._changed({ title: event.target.value.trim() });
    });
    root.querySelector("input[name=sessions]").addEventListener("change", (event) => {
      const count = Math.max(0, Math.min(50, Math.round(Number(event.target.value) || 0)));
      this._changed({ sessions: count });
    });
    root.querySelectorAll("input[type=checkbox]").forEach((box) => {
      box.addEventListener("change", (event) => this._changed({ [event.target.name]: event.target.checked }));
    });
  }
}

if (!customElements.get("ev-sessions-card")) {
  customElements.define("ev-sessions-card", EvSessionsCard);
  customElements.define("ev-sessions-card-editor", EvSessionsCardEditor);
  window.customCards = window.customCards || [];
  window.customCards.push({
    type: "ev-sessions-card",
    name: "EV Sessions",
    description: STRINGS[language(document.querySelector("home-assistant")?.hass)].description,
    preview: true,
    documentationURL: "https://github.com/ev-sessions/ev_sessions#dashboard-card",
  });
  console.info(`%c EV-SESSIONS-CARD %c ${CARD_VERSION} `, "color:#fff;background:#03a9f4", "");
}
