/**
 * A captioned table in a horizontally scrollable wrapper. With `rowHeaders`, each row's first cell is its header
 * (`<th scope="row">`).
 */
export function makeTable(
  caption: string,
  head: readonly string[],
  rows: readonly (readonly string[])[],
  options: { rowHeaders?: boolean } = {},
): HTMLElement {
  const table = document.createElement('table');
  table.createCaption().textContent = caption;
  const headRow = table.createTHead().insertRow();
  for (const text of head) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = text;
    headRow.append(th);
  }
  const body = table.createTBody();
  for (const cells of rows) {
    const row = body.insertRow();
    cells.forEach((text, i) => {
      if (i === 0 && options.rowHeaders) {
        const th = document.createElement('th');
        th.scope = 'row';
        th.textContent = text;
        row.append(th);
      } else {
        row.insertCell().textContent = text;
      }
    });
  }
  const wrap = document.createElement('div');
  wrap.className = 'table-wrap';
  wrap.append(table);
  return wrap;
}
