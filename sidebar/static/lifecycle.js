// The customer's lifecycle on the card: stage picker, SOP tasks (one-tap send), 360° timeline.
// Every piece of data is put on the page with textContent, never innerHTML.
import { $, SdkError, api, attempt, busy, el, fmtTime, invoke, state, toast } from "./core.js";

const path = (tail) => `/customers/${encodeURIComponent(state.euid)}/${tail}`;
const PAGE = 20;
let timelineNext = 0;

function renderStage(data) {
  $("stage-tier").textContent = data.tier;
  $("stage-picker").replaceChildren(...data.stages.map((name) => {
    const on = name === data.stage;
    return el("button", { type: "button", class: on ? "chip is-active" : "chip", "aria-pressed": String(on),
      data: { stage: name }, on: { click: (event) => !on && changeStage(name, event.currentTarget) } }, name);
  }));
}

async function changeStage(name, button) {
  await busy(button, async () => {
    await api("POST", path("stage"), { stage: name });
    toast(`阶段已改为「${name}」`);
    await loadLifecycle();
  });
}

// One tap: the task's text (and its link) go into the chat through the JS-SDK, then it is done.
async function sendTask(task, button) {
  await busy(button, async () => {
    try {
      await invoke("sendChatMessage", { msgtype: "text", enterChat: true, text: { content: task.text } });
      if (task.link) {
        await invoke("sendChatMessage", { msgtype: "news", enterChat: true,
          news: { link: task.link.url, title: task.link.title, desc: task.link.desc } });
      }
    } catch (err) {
      const why = err instanceof SdkError ? err.message : "";
      toast(/cancel/i.test(why) ? "已取消发送" : "发送失败，请确认客户聊天窗口仍然打开后再试");
      return;
    }
    await api("POST", `/sop/runs/${task.id}/sent`, {});
    toast("已发送，任务完成");
    await loadLifecycle();
  });
}

function renderTasks(tasks) {
  $("sop-card").hidden = tasks.length === 0;
  $("sop-tasks").replaceChildren(...tasks.map((t) => el("li", { class: "sop-task", data: { run: String(t.id) } },
    el("div", { class: "muted" }, `${t.rule} · ${fmtTime(t.due_at)}`),
    el("div", { class: "sop-text" }, t.text),
    t.link ? el("div", { class: "muted" }, "附链接：", t.link.title || t.link.url) : null,
    el("div", { class: "row row-end" }, el("button", { type: "button", class: "btn btn-primary btn-sm send",
      "aria-label": "一键发送：" + t.text, on: { click: (event) => sendTask(t, event.currentTarget) } }, "一键发送")))));
}

function timelineItem(item) {
  return el("li", { class: "tl-item", data: { kind: item.kind } },
    el("div", { class: "row" }, el("span", { class: "tl-title" }, item.title), el("span", { class: "muted" }, fmtTime(item.at))),
    item.text ? el("div", { class: "tl-text" }, item.text) : null,
    item.by ? el("div", { class: "muted tl-by" }, item.by) : null);
}

async function loadTimeline(more) {
  const offset = more ? timelineNext : 0;
  const euid = state.euid;
  const data = await api("GET", `${path("timeline")}?offset=${offset}&limit=${PAGE}`);
  if (euid !== state.euid) return;
  const items = data.items.map(timelineItem);
  if (more) $("timeline").append(...items);
  else $("timeline").replaceChildren(...(items.length ? items : [el("li", { class: "muted empty" }, "还没有记录")]));
  timelineNext = data.next;
  $("timeline-more").hidden = !data.more;
}

export async function loadLifecycle() {
  const euid = state.euid;
  const data = await api("GET", path("lifecycle"));
  if (euid !== state.euid) return;
  renderStage(data);
  renderTasks(data.tasks);
  $("lifecycle").hidden = false;
  await loadTimeline(false);
}

export function wireLifecycle() {
  $("timeline-more").addEventListener("click", (event) => busy(event.currentTarget, () => loadTimeline(true)));
}

export const refreshLifecycle = () => attempt(loadLifecycle);
