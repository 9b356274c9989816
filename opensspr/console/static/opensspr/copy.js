// "Copy" buttons: copy the text of the element named by data-copy. Shown only when the
// clipboard can be written; the status line says it worked (read by screen readers).
document.querySelectorAll("button[data-copy]").forEach((button) => {
  if (!navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    const status = document.getElementById("copy-status");
    try {
      await navigator.clipboard.writeText(source.textContent.trim());
      if (status) status.textContent = button.dataset.done || "✓";
    } catch {
      if (status) status.textContent = "";
    }
  });
});
