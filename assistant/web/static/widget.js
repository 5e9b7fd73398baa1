/*
 * Ketamine Evidence Assistant: embeddable chat widget.
 *
 * Add it to a page with one tag:
 *   <div id="evidence-chat"></div>
 *   <script src="https://assistant.example.org/widget.js" data-target="#evidence-chat" defer></script>
 *
 * Optional attributes: data-api (API base URL; default: where this script came from),
 * data-api-key (sent as a bearer token), data-title, data-max-chars.
 *
 * No build step and no third-party code. Everything the user typed or the server sent is put on
 * the page as text (textContent / text nodes), never parsed as HTML, so a message containing
 * markup shows the markup instead of running it. Links are only ever http(s).
 */
(function () {
  "use strict";

  const script = document.currentScript;
  if (!script) {
    return;
  }
  const scriptUrl = new URL(script.src, document.baseURI);
  const config = {
    api: (script.dataset.api || scriptUrl.origin).replace(/\/+$/, ""),
    apiKey: script.dataset.apiKey || null,
    title: script.dataset.title || "Ketamine evidence assistant",
    maxChars: parseInt(script.dataset.maxChars || "2000", 10),
    styles: new URL("widget.css", scriptUrl).href,
  };
  const storageKey = "kea-conversation:" + config.api;
  let widgetCount = 0;

  /* ---------- small DOM helpers: text only ---------- */

  function el(tag, props, children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) {
        continue;
      }
      if (key === "text") {
        node.textContent = value;
      } else if (key === "className") {
        node.className = value;
      } else if (key.startsWith("on")) {
        node.addEventListener(key.slice(2).toLowerCase(), value);
      } else {
        node.setAttribute(key, value === true ? "" : String(value));
      }
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) {
        node.append(child); // strings become text nodes
      }
    }
    return node;
  }

  function safeUrl(value) {
    if (!value) {
      return null;
    }
    try {
      const url = new URL(value);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
    } catch (_error) {
      return null;
    }
  }

  /* ---------- a very small, safe subset of Markdown: paragraphs, "- " lists, **bold**, [n] ---------- */

  function renderRich(container, text, citations, uid) {
    container.replaceChildren();
    const blocks = text.split(/\n{2,}/);
    for (const block of blocks) {
      const lines = block.split("\n").filter((line) => line.trim() !== "");
      if (lines.length === 0) {
        continue;
      }
      const listLines = lines.filter((line) => /^\s*[-*•]\s+/.test(line));
      if (listLines.length === lines.length) {
        container.append(el("ul", {}, lines.map((line) => inline(el("li"), line.replace(/^\s*[-*•]\s+/, ""), citations, uid))));
      } else if (listLines.length > 0) {
        // A heading line followed by a list ("What the studies found:\n- ...").
        const para = el("p");
        const list = el("ul");
        for (const line of lines) {
          if (/^\s*[-*•]\s+/.test(line)) {
            list.append(inline(el("li"), line.replace(/^\s*[-*•]\s+/, ""), citations, uid));
          } else if (list.childElementCount === 0) {
            inline(para, line, citations, uid);
          } else {
            list.append(inline(el("li"), line, citations, uid));
          }
        }
        container.append(para, list);
      } else {
        const para = el("p");
        lines.forEach((line, index) => {
          if (index > 0) {
            para.append(el("br"));
          }
          inline(para, line, citations, uid);
        });
        container.append(para);
      }
    }
  }

  function inline(parent, text, citations, uid) {
    const parts = text.split(/(\*\*[^*]+\*\*|\[\d+\])/);
    for (const part of parts) {
      if (!part) {
        continue;
      }
      const bold = /^\*\*([^*]+)\*\*$/.exec(part);
      const marker = /^\[(\d+)\]$/.exec(part);
      if (bold) {
        parent.append(el("strong", { text: bold[1] }));
      } else if (marker && citations && citations.has(Number(marker[1]))) {
        parent.append(citationMarker(citations.get(Number(marker[1])), uid));
      } else {
        parent.append(part);
      }
    }
    return parent;
  }

  function describe(citation) {
    const bits = [citation.year, citation.design].filter((bit) => bit !== null && bit !== undefined && bit !== "");
    return citation.title + (bits.length ? " (" + bits.join(", ") + ")" : "");
  }

  function citationMarker(citation, uid) {
    const tipId = uid + "-tip-" + citation.marker + "-" + Math.random().toString(36).slice(2, 8);
    const url = safeUrl(citation.url);
    const label = "[" + citation.marker + "]";
    const props = {
      className: "kea-cite",
      text: label,
      "aria-describedby": tipId,
      "data-marker": citation.marker,
    };
    const anchor = url
      ? el("a", Object.assign(props, { href: url, target: "_blank", rel: "noopener noreferrer" }))
      : el("button", Object.assign(props, { type: "button" }));
    const tip = el("span", { className: "kea-tip", role: "tooltip", id: tipId }, [
      el("span", { className: "kea-tip-title", text: citation.title }),
      el("span", { className: "kea-tip-meta", text: [citation.year, citation.design].filter(Boolean).join(" · ") }),
    ]);
    const wrap = el("span", { className: "kea-cite-wrap" }, [anchor, tip]);
    const place = () => {
      tip.classList.remove("kea-tip-dismissed");
      placeTip(wrap, tip);
    };
    wrap.addEventListener("mouseenter", place);
    wrap.addEventListener("focusin", place);
    wrap.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        tip.classList.add("kea-tip-dismissed"); // hover and focus content must be dismissable (WCAG 1.4.13)
      }
    });
    return wrap;
  }

  // Tooltips open above their marker unless the scrolling log would clip them there.
  function placeTip(wrap, tip) {
    const log = wrap.closest(".kea-log");
    const room = wrap.getBoundingClientRect().top - (log ? log.getBoundingClientRect().top : 0);
    tip.classList.toggle("kea-tip-below", room < 120);
  }

  /* ---------- Server-Sent Events over fetch (EventSource cannot POST) ---------- */

  async function* readEvents(response) {
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const parsed = parseFrame(frame);
        if (parsed) {
          yield parsed;
        }
      }
    }
    const last = parseFrame(buffer + decoder.decode());
    if (last) {
      yield last;
    }
  }

  function parseFrame(frame) {
    let name = "message";
    const data = [];
    for (const line of frame.split("\n")) {
      if (line === "" || line.startsWith(":")) {
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") {
        name = value;
      } else if (field === "data") {
        data.push(value);
      }
    }
    if (data.length === 0) {
      return null;
    }
    try {
      return { name: name, data: JSON.parse(data.join("\n")) };
    } catch (_error) {
      return null;
    }
  }

  /* ---------- one answer bubble ---------- */

  class AnswerView {
    constructor(widget) {
      this.widget = widget;
      this.uid = widget.uid + "-a" + widget.answerCount++;
      this.text = "";
      this.crisis = null;
      this.citations = new Map();
      this.crisisBox = el("div", { className: "kea-crisis", role: "alert", hidden: true });
      this.body = el("div", { className: "kea-answer" });
      this.sources = el("ol", { className: "kea-sources", "aria-label": "Sources", hidden: true });
      this.caveats = el("aside", { className: "kea-caveats", "aria-label": "Caveats", hidden: true });
      this.followUps = el("div", { className: "kea-followups", role: "group", "aria-label": "Suggested follow-up questions", hidden: true });
      this.feedback = el("div", { className: "kea-feedback", hidden: true });
      this.root = el("article", { className: "kea-msg kea-bot", "data-state": "waiting", "aria-busy": "true", "aria-label": "Answer" }, [
        this.crisisBox, this.body, this.sources, this.caveats, this.followUps, this.feedback,
      ]);
      this.body.append(el("p", { className: "kea-pending", text: "Searching the evidence…" }));
    }

    meta(data) {
      this.root.dataset.category = data.safety ? data.safety.category : "";
      this.messageId = data.message_id;
      if (data.crisis_message) {
        this.crisis = data.crisis_message;
        this.crisisBox.hidden = false;
        this.crisisBox.append(el("p", { className: "kea-crisis-title", text: "If you are thinking about harming yourself, please reach out now." }));
        const text = el("div");
        renderRich(text, data.crisis_message, null, this.uid);
        this.crisisBox.append(text);
      }
    }

    visibleText() {
      // The crisis text leads the answer; it is already shown, prominently, above.
      if (this.crisis && this.text.startsWith(this.crisis)) {
        return this.text.slice(this.crisis.length).replace(/^\s+/, "");
      }
      return this.text;
    }

    delta(data) {
      this.root.dataset.state = "streaming";
      this.text += data.text;
      this.body.replaceChildren(el("p", { className: "kea-streaming", text: this.visibleText() }));
    }

    setCitations(list) {
      for (const citation of list) {
        this.citations.set(citation.marker, citation);
      }
      this.renderText();
      if (list.length === 0) {
        return;
      }
      this.sources.hidden = false;
      this.sources.replaceChildren(...list.map((citation) => {
        const url = safeUrl(citation.url);
        const title = url
          ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: citation.title })
          : el("span", { text: citation.title });
        const meta = [citation.authors, citation.year, citation.design].filter(Boolean).join(" · ");
        return el("li", { value: citation.marker, "data-marker": citation.marker }, [title, el("span", { className: "kea-source-meta", text: " — " + meta })]);
      }));
    }

    renderText() {
      renderRich(this.body, this.visibleText(), this.citations, this.uid);
    }

    setCaveats(list) {
      if (list.length === 0) {
        return;
      }
      this.caveats.hidden = false;
      this.caveats.replaceChildren(
        el("h3", { text: "Caveats" }),
        el("ul", {}, list.map((caveat) => el("li", { "data-caveat": caveat.id, text: caveat.text }))),
      );
    }

    done(data) {
      this.root.dataset.state = "done";
      this.root.setAttribute("aria-busy", "false");
      this.messageId = data.message_id || this.messageId;
      this.renderText();
      const questions = data.follow_up_questions || [];
      if (questions.length) {
        this.followUps.hidden = false;
        this.followUps.replaceChildren(
          el("span", { className: "kea-followups-label", text: "You could also ask:" }),
          ...questions.map((question) => el("button", {
            type: "button", className: "kea-followup", text: question, onClick: () => this.widget.ask(question),
          })),
        );
      }
      if (this.messageId) {
        this.showFeedback();
      }
    }

    showFeedback() {
      const send = async (rating, button) => {
        for (const other of this.feedback.querySelectorAll("button")) {
          other.setAttribute("aria-pressed", String(other === button));
        }
        try {
          await this.widget.request("POST", "/v1/feedback", { message_id: this.messageId, rating: rating });
          this.widget.announce("Thank you for the feedback.");
        } catch (error) {
          this.widget.announce(error.message);
        }
      };
      const up = el("button", { type: "button", className: "kea-rate", "aria-pressed": "false", text: "Helpful" });
      const down = el("button", { type: "button", className: "kea-rate", "aria-pressed": "false", text: "Not helpful" });
      up.addEventListener("click", () => send("up", up));
      down.addEventListener("click", () => send("down", down));
      this.feedback.hidden = false;
      this.feedback.replaceChildren(el("span", { text: "Was this useful?" }), up, down);
    }

    fail(message) {
      this.root.dataset.state = "error";
      this.root.setAttribute("aria-busy", "false");
      if (!this.text) {
        this.body.replaceChildren();
      }
      this.body.append(el("p", { className: "kea-error", role: "alert", text: message }));
    }

    /* A stored turn, as GET /v1/conversations/<id> returns it. */
    fill(answer, messageId) {
      this.meta({ safety: answer.safety, message_id: messageId, crisis_message: answer.crisis_message });
      this.text = answer.answer;
      this.setCitations(answer.citations || []);
      this.setCaveats(answer.caveats || []);
      this.done({ message_id: messageId, follow_up_questions: [] });
    }
  }

  /* ---------- the widget ---------- */

  class Widget {
    constructor(host) {
      this.uid = "kea" + widgetCount++;
      this.answerCount = 0;
      this.busy = false;
      this.conversationId = readStored();
      const shadow = host.attachShadow({ mode: "open" });
      this.log = el("div", { className: "kea-log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
      this.status = el("p", { className: "kea-status kea-visually-hidden", role: "status", "aria-live": "polite" });
      this.input = el("textarea", {
        id: this.uid + "-input", className: "kea-input", rows: 2, maxlength: config.maxChars,
        placeholder: "Ask about the evidence on ketamine or esketamine for depression…",
        "aria-describedby": this.uid + "-hint",
      });
      this.send = el("button", { type: "submit", className: "kea-send", text: "Ask" });
      const form = el("form", { className: "kea-form", onSubmit: (event) => { event.preventDefault(); this.submit(); } }, [
        el("label", { for: this.uid + "-input", className: "kea-visually-hidden", text: "Your question" }),
        this.input,
        this.send,
        el("p", { id: this.uid + "-hint", className: "kea-hint", text: "Enter sends; Shift+Enter starts a new line." }),
      ]);
      this.input.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.submit();
        }
      });
      const newButton = el("button", { type: "button", className: "kea-new", text: "New conversation", onClick: () => this.reset(false) });
      const forgetButton = el("button", { type: "button", className: "kea-new", text: "Delete conversation", onClick: () => this.reset(true) });
      shadow.append(
        el("link", { rel: "stylesheet", href: config.styles }),
        el("section", { className: "kea", "aria-label": config.title }, [
          el("header", { className: "kea-header" }, [el("h2", { text: config.title }), el("div", { className: "kea-actions" }, [newButton, forgetButton])]),
          el("p", { className: "kea-disclaimer", text: "Answers summarise published studies and are not medical advice. In an emergency, call your local emergency number." }),
          this.log,
          this.status,
          form,
        ]),
      );
      if (this.conversationId) {
        this.restore();
      }
    }

    announce(message) {
      this.status.textContent = message;
    }

    headers(json) {
      const headers = { Accept: json ? "application/json" : "text/event-stream" };
      if (json !== null) {
        headers["Content-Type"] = "application/json";
      }
      if (config.apiKey) {
        headers.Authorization = "Bearer " + config.apiKey;
      }
      return headers;
    }

    async request(method, path, body) {
      const response = await fetch(config.api + path, {
        method: method,
        headers: this.headers(body === undefined ? null : true),
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!response.ok) {
        throw await problem(response);
      }
      return response.status === 204 ? null : response.json();
    }

    submit() {
      const text = this.input.value.trim();
      if (!text || this.busy) {
        return;
      }
      this.input.value = "";
      this.ask(text);
    }

    async ask(text) {
      if (this.busy) {
        return;
      }
      this.busy = true;
      this.send.disabled = true;
      this.log.append(el("div", { className: "kea-msg kea-user", "aria-label": "You asked" }, [el("p", { className: "kea-text", text: text })]));
      const view = new AnswerView(this);
      this.log.append(view.root);
      this.announce("Searching the evidence…");
      view.root.scrollIntoView({ block: "nearest" });
      try {
        await this.stream(text, view, true);
        this.announce("Answer complete.");
      } catch (error) {
        view.fail(error.message || "Something went wrong. Please try again.");
        this.announce(error.message || "Something went wrong.");
      } finally {
        this.busy = false;
        this.send.disabled = false;
        this.input.focus();
      }
    }

    async stream(text, view, mayRetry) {
      const body = { message: text, stream: true };
      if (this.conversationId) {
        body.conversation_id = this.conversationId;
      }
      const response = await fetch(config.api + "/v1/chat", { method: "POST", headers: this.headers(false), body: JSON.stringify(body) });
      if (response.status === 404 && this.conversationId && mayRetry) {
        this.forget(); // the conversation was deleted elsewhere: start a new one
        return this.stream(text, view, false);
      }
      if (!response.ok) {
        throw await problem(response);
      }
      let finished = false;
      for await (const event of readEvents(response)) {
        const data = event.data;
        if (event.name === "meta") {
          this.remember(data.conversation_id);
          view.meta(data);
        } else if (event.name === "delta") {
          view.delta(data);
        } else if (event.name === "citations") {
          view.setCitations(data.citations || []);
        } else if (event.name === "caveats") {
          view.setCaveats(data.caveats || []);
        } else if (event.name === "done") {
          view.done(data);
          finished = true;
        } else if (event.name === "error") {
          throw new Error(errorText(data));
        }
      }
      if (!finished) {
        throw new Error("The answer was cut off. Please try again.");
      }
    }

    async restore() {
      try {
        const conversation = await this.request("GET", "/v1/conversations/" + encodeURIComponent(this.conversationId));
        for (const turn of conversation.turns) {
          this.log.append(el("div", { className: "kea-msg kea-user", "aria-label": "You asked" }, [el("p", { className: "kea-text", text: turn.message })]));
          const view = new AnswerView(this);
          this.log.append(view.root);
          view.fill(turn.answer, turn.message_id);
        }
      } catch (_error) {
        this.forget();
      }
    }

    async reset(deleteOnServer) {
      if (this.busy) {
        return;
      }
      if (deleteOnServer && this.conversationId) {
        try {
          await this.request("DELETE", "/v1/conversations/" + encodeURIComponent(this.conversationId));
        } catch (_error) {
          // already gone: nothing to delete
        }
      }
      this.forget();
      this.log.replaceChildren();
      this.announce(deleteOnServer ? "Conversation deleted." : "New conversation started.");
      this.input.focus();
    }

    remember(conversationId) {
      this.conversationId = conversationId;
      try {
        window.sessionStorage.setItem(storageKey, conversationId);
      } catch (_error) {
        // storage may be disabled; the conversation still works for this page view
      }
    }

    forget() {
      this.conversationId = null;
      try {
        window.sessionStorage.removeItem(storageKey);
      } catch (_error) {
        // see remember()
      }
    }
  }

  function readStored() {
    try {
      return window.sessionStorage.getItem(storageKey);
    } catch (_error) {
      return null;
    }
  }

  function errorText(body) {
    if (body && body.error && body.error.message) {
      return body.error.message;
    }
    return "Something went wrong. Please try again.";
  }

  async function problem(response) {
    let body = null;
    try {
      body = await response.json();
    } catch (_error) {
      body = null;
    }
    const error = new Error(body ? errorText(body) : "The service answered " + response.status + ".");
    error.status = response.status;
    return error;
  }

  function mount() {
    let host = script.dataset.target ? document.querySelector(script.dataset.target) : null;
    if (!host) {
      host = el("div", { className: "kea-host" });
      script.after(host);
    }
    host.keaWidget = new Widget(host);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", mount);
  } else {
    mount();
  }
})();
