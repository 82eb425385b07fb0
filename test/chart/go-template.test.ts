/** The chart renderer against outputs Go's text/template + Sprig give for the same input. */
import { describe, expect, it } from 'vitest';
import { renderTemplates, TemplateError } from './go-template.js';

function run(src: string, values: unknown = {}, strict = true): string {
  const out = renderTemplates({
    templates: new Map([
      ['templates/_h.tpl', '{{- define "h.labels" -}}\na: {{ .Values.a | quote }}\nb: x\n{{- end -}}'],
      ['templates/t.yaml', src],
    ]),
    values,
    chart: { Name: 'c', Version: '1.0.0', AppVersion: '2.0.0' },
    release: { Name: 'r', Namespace: 'ns' },
    files: new Map([
      ['rules/b.yaml', 'groups: [{name: b}]'],
      ['rules/a.yaml', 'groups: [{name: a}]'],
      ['other/c.yaml', 'x: 1'],
    ]),
    strict,
  });
  return out.get('templates/t.yaml') as string;
}

describe('go-template subset', () => {
  it('trims whitespace on the marked side only, comments vanish', () => {
    expect(run('a  {{- "b" }}  c')).toBe('ab  c');
    expect(run('a  {{ "b" -}}  \n c')).toBe('a  bc');
    expect(run('x\n{{- /* gone */}}\ny')).toBe('x\ny');
  });

  it('if / else if / else with Go truth (0, "", empty list and map are false)', () => {
    const t = '{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}';
    expect(run(t, { a: 1, b: 1 })).toBe('A');
    expect(run(t, { a: 0, b: 'x' })).toBe('B');
    expect(run(t, { a: [], b: {} })).toBe('C');
  });

  it('range over maps in key order with $k, $v; over lists; else when empty', () => {
    expect(run('{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}', { m: { z: 1, a: 2 } })).toBe('a=2;z=1;');
    expect(run('{{ range .Values.l }}[{{ . }}]{{ else }}none{{ end }}', { l: ['x', 'y'] })).toBe('[x][y]');
    expect(run('{{ range .Values.l }}[{{ . }}]{{ else }}none{{ end }}', { l: [] })).toBe('none');
  });

  it('with rebinds the dot, $ stays the root; = assigns to the outer variable', () => {
    expect(run('{{ with .Values.s }}{{ .x }}/{{ $.Release.Name }}{{ end }}', { s: { x: 'in' } })).toBe('in/r');
    expect(run('{{ $n := list }}{{ range .Values.l }}{{ $n = concat $n (list .) }}{{ end }}{{ toYaml $n }}', { l: [1, 2] })).toBe('- 1\n- 2');
  });

  it('include, nindent, toYaml (keys sorted, no final newline), default, printf, trunc', () => {
    expect(run('m:\n  {{- include "h.labels" . | nindent 2 }}', { a: 'v' })).toBe('m:\n  a: "v"\n  b: x');
    expect(run('{{ toYaml .Values }}', { b: { y: 1, x: [] }, a: true })).toBe('a: true\nb:\n  x: []\n  y: 1');
    expect(run('{{ .Values.t | default .Chart.AppVersion }}', { t: '' })).toBe('2.0.0');
    expect(run('{{ printf "%s-%s" "abcdef" "g" | trunc 4 | trimSuffix "-" }}')).toBe('abcd');
    expect(run('{{ "unix:///run/containerd/containerd.sock" | trimPrefix "unix://" | dir }}')).toBe('/run/containerd');
  });

  it('numbers of the values are float64 as in Helm: %v, int, and eq across kinds refused', () => {
    // Go: fmt.Sprint(float64(1000000)) is "1e+06", which an agent flag would not parse.
    expect(run('{{ .Values.n }}|{{ .Values.s }}|{{ .Values.f }}|{{ .Values.p }}', { n: 1000000, s: 50000, f: 1.5, p: 9739 })).toBe('1e+06|50000|1.5|9739');
    expect(run('{{ .Values.n | int }}|{{ int .Values.f }}|{{ 1000000 }}', { n: 1000000, f: 1.5 })).toBe('1000000|1|1000000');
    expect(run('{{ if ne (int .Values.n) 50000 }}x{{ end }}{{ if eq (int .Values.s) 50000 }}y{{ end }}', { n: 1000000, s: 50000 })).toBe('xy');
    expect(() => run('{{ ne .Values.n 50000 }}', { n: 50000 })).toThrow(/incompatible types/);
    expect(() => run('{{ eq .Values.s 1 }}', { s: '1' })).toThrow(/incompatible types/);
    expect(run('{{ if .Values.z }}t{{ else }}f{{ end }}{{ if int .Values.z }}t{{ else }}f{{ end }}', { z: 0 })).toBe('ff');
  });

  it('quote keeps a regex with | $ \\ and " in one YAML string', () => {
    const re = String.raw`prod-.*|(dev|qa)-[0-9]+$|a\.b "x"`;
    const out = run('- {{ printf "--network.include=%s" .Values.r | quote }}', { r: re });
    expect(out).toBe(`- ${JSON.stringify(`--network.include=${re}`)}`);
  });

  it('.Files.Glob and .Files.Get, sorted by path', () => {
    expect(run('{{ range $p, $_ := .Files.Glob "rules/*.yaml" }}{{ $f := $.Files.Get $p | fromYaml }}{{ base $p }}:{{ $f.groups | toYaml }};{{ end }}')).toBe(
      'a.yaml:- name: a;b.yaml:- name: b;',
    );
  });

  it('fails on a missing key when strict, on a field of nil always, and on what it does not know', () => {
    expect(() => run('{{ .Values.nope }}', {})).toThrow(/no entry for key "nope"/);
    expect(run('[{{ .Values.nope }}]', {}, false)).toBe('[]');
    expect(() => run('{{ .Values.a.b }}', { a: null }, false)).toThrow(/nil pointer/);
    expect(() => run('{{ tpl "x" . }}')).toThrow(TemplateError);
    expect(() => run('{{ template "h.labels" . }}')).toThrow(/not supported/);
    expect(() => run('{{ .Values }}', { a: 1 })).toThrow(/toYaml/);
    // Go allows a field of a parenthesized pipeline; this renderer refuses it rather than guess.
    expect(() => run('{{ (.Files.Get "other/c.yaml" | fromYaml).x }}')).toThrow(TemplateError);
  });
});
