// @ts-check
/**
 * One search result as both pages show it, the served page (web/main.js) and the static site
 * (web/site/site.js, which `koclip export site` writes beside this file): a list item holding the
 * thumbnail, the file's name and the score, with the id and score as data attributes.
 */

/**
 * @param {{ id: number | string, path: string, score: number, thumbnail: string, eager: boolean }} hit
 * @param {{ href: string, newTab?: boolean, onClick?: () => void }} link where a click on the image leads
 * @returns {HTMLLIElement}
 */
export function hitCard(hit, link) {
  const li = document.createElement("li");
  li.className = "hit";
  li.dataset.id = String(hit.id);
  li.dataset.score = String(hit.score);
  const a = document.createElement("a");
  a.href = link.href;
  if (link.newTab) {
    a.target = "_blank";
    a.rel = "noopener";
  }
  const onClick = link.onClick;
  if (onClick) {
    a.addEventListener("click", (e) => {
      e.preventDefault();
      onClick();
    });
  }
  a.title = `${hit.path} (유사도 ${hit.score.toFixed(3)})`;
  const img = document.createElement("img");
  img.src = hit.thumbnail;
  img.alt = hit.path;
  img.loading = hit.eager ? "eager" : "lazy";
  const meta = document.createElement("div");
  meta.className = "meta";
  const name = document.createElement("span");
  name.className = "path";
  name.textContent = hit.path.split("/").pop() ?? hit.path;
  const score = document.createElement("span");
  score.className = "score";
  score.textContent = hit.score.toFixed(3);
  meta.append(name, score);
  a.append(img, meta);
  li.append(a);
  return li;
}
