// The page's words, by message key, as the server writes them (GET /api/messages?lang=): the page keeps no
// translation table of its own. `{name}` placeholders are filled with values the server sent.

import { getJSON, urls } from "./api.js";

const loaded = {}; // lang -> {key: text}
const extra = {}; // words the server sends elsewhere: the scenarios' own titles (GET /api/scenarios)
let lang = "en";

/** Fetch a language's messages once. */
export async function loadMessages(l) {
  if (!loaded[l]) loaded[l] = await getJSON(urls.messages(l));
}

export function addWords(words) {
  Object.assign(extra, words);
}

export function setLang(l) {
  lang = l === "zh" ? "zh" : "en";
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
}

export function getLang() {
  return lang;
}

export function defaultLang() {
  const langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  return String(langs[0] || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function t(key, vars) {
  let s = (loaded[lang] && loaded[lang][key]) ?? extra[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

/** Translate every marked element under root. */
export function applyI18n(root = document) {
  for (const el of root.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(",")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
}
