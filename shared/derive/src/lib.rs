//! `#[derive(Component)]`, `#[derive(Input)]` and `#[derive(NetEnum)]` for Tickwire's game API
//! (`tickwire_shared::component`). Each reads the type and its `#[net(...)]` attributes and
//! writes the descriptor and the lossless conversion to and from integer lanes; anything the
//! schema would refuse is a compile error pointing at the attribute.
//!
//! Field types: `i8`, `i16`, `i32`, `u8`, `u16` (an int over the type's whole range unless a
//! domain says otherwise), arrays of those of 1 to 4 elements (vectors, one lane each), `bool`,
//! `String` (with `string(max_len = N)`), and any other type as a `NetEnum`.
//!
//! `#[net(...)]` items, all optional:
//! - a domain: `int(min = A, max = B)`, `fixed(frac_bits = K, min = A, max = B)` (bounds in lane
//!   units, 1/2^K), `angle(bits = N)`, `string(max_len = N)`;
//! - `delta` or `spawn_only` (how it travels; components only);
//! - `interpolate = "none" | "linear" | "angle"`;
//! - `tolerance = N` (prediction: a difference up to N lane units is not a correction).

use proc_macro::TokenStream;
use proc_macro2::TokenStream as Tokens;
use quote::{format_ident, quote};
use syn::parse::ParseStream;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Error, Fields, Ident, LitInt, LitStr, Type, parse_macro_input};

/// The longest name a schema takes (its name rule: 1 to 32 of `A-Z a-z 0-9 - _`).
const MAX_NAME: usize = 32;

/// Writes `tickwire_shared::component::Component` for a struct with named fields.
#[proc_macro_derive(Component, attributes(net))]
pub fn derive_component(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, Role::Component)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Writes `tickwire_shared::component::Input` for a struct with named fields (no strings; every
/// field sent whole).
#[proc_macro_derive(Input, attributes(net))]
pub fn derive_input(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand(&input, Role::Input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

/// Writes `tickwire_shared::component::NetEnum` for an enum of unit variants.
#[proc_macro_derive(NetEnum)]
pub fn derive_net_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand_enum(&input)
        .unwrap_or_else(Error::into_compile_error)
        .into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Component,
    Input,
}

/// What a field's Rust type is.
enum Shape {
    /// An integer type, or (`array`) an array of `lanes` of them.
    Int {
        ty: Ident,
        lanes: u8,
        array: bool,
    },
    Bool,
    Str,
    Enum(Type),
}

/// A field's declared domain.
#[derive(Clone, Copy)]
enum DomainSpec {
    Int { min: i64, max: i64 },
    Fixed { frac_bits: u8, min: i64, max: i64 },
    Angle { bits: u8 },
    Str { max_len: u16 },
}

/// One field as the attributes declare it.
struct FieldSpec {
    ident: Ident,
    name: String,
    shape: Shape,
    domain: Option<DomainSpec>,
    coding: &'static str,
    interpolate: &'static str,
    tolerance: u32,
}

fn name_of(ident: &Ident) -> syn::Result<String> {
    let name = ident.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name).to_owned();
    if name.len() > MAX_NAME || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::new(
            ident.span(),
            "a replicated name has 1 to 32 of A-Z a-z 0-9 _",
        ));
    }
    Ok(name)
}

fn shape_of(ty: &Type) -> syn::Result<Shape> {
    let int = |ty: &Type| match ty {
        Type::Path(path) if path.qself.is_none() => path
            .path
            .get_ident()
            .filter(|ident| ["i8", "i16", "i32", "u8", "u16"].contains(&ident.to_string().as_str()))
            .cloned(),
        _ => None,
    };
    if let Some(ident) = int(ty) {
        return Ok(Shape::Int {
            ty: ident,
            lanes: 1,
            array: false,
        });
    }
    if let Type::Array(array) = ty {
        let Some(ident) = int(&array.elem) else {
            return Err(Error::new(
                array.elem.span(),
                "vectors are arrays of i8, i16, i32, u8 or u16",
            ));
        };
        let lanes = match &array.len {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(len),
                ..
            }) => len
                .base10_parse::<u8>()
                .ok()
                .filter(|n| (1..=4).contains(n)),
            _ => None,
        };
        let Some(lanes) = lanes else {
            return Err(Error::new(array.len.span(), "a vector has 1 to 4 lanes"));
        };
        return Ok(Shape::Int {
            ty: ident,
            lanes,
            array: true,
        });
    }
    if let Type::Path(path) = ty
        && let Some(ident) = path.path.get_ident()
    {
        match ident.to_string().as_str() {
            "bool" => return Ok(Shape::Bool),
            "String" => return Ok(Shape::Str),
            "u32" | "i64" | "u64" | "i128" | "u128" | "usize" | "isize" | "f32" | "f64" => {
                return Err(Error::new(
                    ident.span(),
                    "replicated integers are i8, i16, i32, u8 or u16 (lanes are i32); floats are \
                     not replicated: quantize to fixed(...)",
                ));
            }
            _ => {}
        }
    }
    Ok(Shape::Enum(ty.clone()))
}

/// `-12` or `12` as an i64.
fn signed(input: ParseStream<'_>) -> syn::Result<i64> {
    let negative = input.peek(syn::Token![-]);
    if negative {
        input.parse::<syn::Token![-]>()?;
    }
    let value: i64 = input.parse::<LitInt>()?.base10_parse()?;
    Ok(if negative { -value } else { value })
}

/// The value of `key` in a domain that takes only that key, as in `angle(bits = 12)`.
fn only_key<N>(meta: &syn::meta::ParseNestedMeta<'_>, key: &str) -> syn::Result<Option<N>>
where
    N: std::str::FromStr,
    N::Err: std::fmt::Display,
{
    let mut value = None;
    meta.parse_nested_meta(|inner| {
        if !inner.path.is_ident(key) {
            return Err(inner.error(format!("expected {key}")));
        }
        value = Some(inner.value()?.parse::<LitInt>()?.base10_parse::<N>()?);
        Ok(())
    })?;
    Ok(value)
}

fn parse_field(field: &syn::Field, role: Role) -> syn::Result<FieldSpec> {
    let ident = field
        .ident
        .clone()
        .ok_or_else(|| Error::new(field.span(), "fields must be named"))?;
    let mut spec = FieldSpec {
        name: name_of(&ident)?,
        ident,
        shape: shape_of(&field.ty)?,
        domain: None,
        coding: "Absolute",
        interpolate: "None",
        tolerance: 0,
    };
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("net")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            let mut set_domain = |domain: DomainSpec| {
                if spec.domain.replace(domain).is_some() {
                    return Err(meta.error("one domain per field"));
                }
                Ok(())
            };
            match key.as_str() {
                "int" | "fixed" => {
                    let (mut frac_bits, mut min, mut max) = (None, None, None);
                    meta.parse_nested_meta(|inner| {
                        if inner.path.is_ident("min") {
                            min = Some(signed(inner.value()?)?);
                        } else if inner.path.is_ident("max") {
                            max = Some(signed(inner.value()?)?);
                        } else if key == "fixed" && inner.path.is_ident("frac_bits") {
                            frac_bits = Some(inner.value()?.parse::<LitInt>()?.base10_parse()?);
                        } else {
                            return Err(inner.error("expected min, max (and frac_bits for fixed)"));
                        }
                        Ok(())
                    })?;
                    let (Some(min), Some(max)) = (min, max) else {
                        return Err(meta.error("needs min and max"));
                    };
                    if min > max {
                        return Err(meta.error("min is above max"));
                    }
                    match frac_bits {
                        Some(frac_bits) if frac_bits > 16 => {
                            Err(meta.error("at most 16 fractional bits"))
                        }
                        Some(frac_bits) => set_domain(DomainSpec::Fixed {
                            frac_bits,
                            min,
                            max,
                        }),
                        None if key == "fixed" => Err(meta.error("needs frac_bits")),
                        None => set_domain(DomainSpec::Int { min, max }),
                    }
                }
                "angle" => match only_key::<u8>(&meta, "bits")? {
                    Some(bits @ 1..=16) => set_domain(DomainSpec::Angle { bits }),
                    _ => Err(meta.error("angle needs bits = 1 to 16")),
                },
                "string" => match only_key::<u16>(&meta, "max_len")? {
                    Some(max_len @ 1..=255) => set_domain(DomainSpec::Str { max_len }),
                    _ => Err(meta.error("string needs max_len = 1 to 255")),
                },
                "delta" | "spawn_only" if role == Role::Input => {
                    Err(meta.error("input fields are sent whole: no delta or spawn_only"))
                }
                "delta" | "spawn_only" if spec.coding != "Absolute" => {
                    Err(meta.error("one of delta or spawn_only"))
                }
                "delta" => {
                    spec.coding = "Delta";
                    Ok(())
                }
                "spawn_only" => {
                    spec.coding = "SpawnOnly";
                    Ok(())
                }
                "interpolate" => {
                    let how: LitStr = meta.value()?.parse()?;
                    spec.interpolate = match how.value().as_str() {
                        "none" => "None",
                        "linear" => "Linear",
                        "angle" => "Angle",
                        _ => {
                            return Err(Error::new(
                                how.span(),
                                "interpolate is \"none\", \"linear\" or \"angle\"",
                            ));
                        }
                    };
                    Ok(())
                }
                "tolerance" => {
                    spec.tolerance = meta.value()?.parse::<LitInt>()?.base10_parse()?;
                    Ok(())
                }
                _ => Err(meta.error(
                    "expected int(..), fixed(..), angle(..), string(..), delta, spawn_only, \
                     interpolate = \"..\" or tolerance = N",
                )),
            }
        })?;
    }
    check(&spec, role, field)?;
    Ok(spec)
}

/// The rules `Schema::validate` holds, at compile time, plus what the Rust type can hold.
fn check(spec: &FieldSpec, role: Role, field: &syn::Field) -> syn::Result<()> {
    let fail = |message: &str| Err(Error::new(field.span(), message));
    let numeric = matches!(
        spec.domain,
        None | Some(DomainSpec::Int { .. } | DomainSpec::Fixed { .. })
    ) && matches!(spec.shape, Shape::Int { .. });
    match (&spec.shape, spec.domain) {
        (
            Shape::Int { ty, .. },
            Some(DomainSpec::Int { min, max } | DomainSpec::Fixed { min, max, .. }),
        ) => {
            let (lo, hi) = int_range(ty);
            if min < lo || max > hi {
                return fail("the domain's bounds do not fit the field's type");
            }
        }
        (Shape::Int { ty, array, .. }, Some(DomainSpec::Angle { bits })) => {
            if *array {
                return fail("an angle is one lane, not a vector");
            }
            if (1i64 << bits) - 1 > int_range(ty).1 {
                return fail("the angle's bits do not fit the field's type");
            }
        }
        (Shape::Int { .. }, None) => {}
        (Shape::Str, Some(DomainSpec::Str { .. })) if role == Role::Input => {
            return fail("an input carries no strings");
        }
        (Shape::Str, Some(DomainSpec::Str { .. })) => {}
        (Shape::Str, _) => return fail("a String field needs #[net(string(max_len = N))]"),
        (Shape::Bool | Shape::Enum(_), None) => {}
        (_, Some(_)) => return fail("this domain does not fit the field's type"),
    }
    if spec.coding == "Delta" && !numeric {
        return fail("only int and fixed-point fields are delta-coded");
    }
    let interpolation_ok = match spec.interpolate {
        "Linear" => numeric,
        "Angle" => matches!(spec.domain, Some(DomainSpec::Angle { .. })),
        _ => true,
    };
    if !interpolation_ok {
        return fail("interpolate = \"linear\" is for int and fixed-point, \"angle\" for angles");
    }
    Ok(())
}

fn int_range(ty: &Ident) -> (i64, i64) {
    match ty.to_string().as_str() {
        "i8" => (i8::MIN.into(), i8::MAX.into()),
        "i16" => (i16::MIN.into(), i16::MAX.into()),
        "u8" => (0, u8::MAX.into()),
        "u16" => (0, u16::MAX.into()),
        _ => (i32::MIN.into(), i32::MAX.into()),
    }
}

/// The descriptor, the write and the read of one field.
struct FieldCode {
    desc: Tokens,
    write: Tokens,
    read: Tokens,
}

fn field_code(spec: &FieldSpec) -> FieldCode {
    let schema = quote!(::tickwire_shared::schema);
    let component = quote!(::tickwire_shared::component);
    let FieldSpec {
        ident, name, shape, ..
    } = spec;
    let (lanes, domain) = match (shape, spec.domain) {
        (Shape::Int { ty, lanes, .. }, domain) => {
            let (lo, hi) = int_range(ty);
            let domain = match domain {
                Some(DomainSpec::Fixed {
                    frac_bits,
                    min,
                    max,
                }) => {
                    let (min, max) = (min as i32, max as i32);
                    quote!(#schema::Domain::Fixed { frac_bits: #frac_bits, min: #min, max: #max })
                }
                Some(DomainSpec::Angle { bits }) => quote!(#schema::Domain::Angle { bits: #bits }),
                Some(DomainSpec::Int { min, max }) => {
                    let (min, max) = (min as i32, max as i32);
                    quote!(#schema::Domain::Int { min: #min, max: #max })
                }
                _ => {
                    let (min, max) = (lo as i32, hi as i32);
                    quote!(#schema::Domain::Int { min: #min, max: #max })
                }
            };
            (*lanes, domain)
        }
        (Shape::Bool, _) => (1, quote!(#schema::Domain::Bool)),
        (Shape::Str, domain) => {
            let max_len = match domain {
                Some(DomainSpec::Str { max_len }) => max_len,
                _ => 0,
            };
            (1, quote!(#schema::Domain::Str { max_len: #max_len }))
        }
        (Shape::Enum(ty), _) => (
            1,
            quote!(#schema::Domain::Enum {
                variants: <#ty as #component::NetEnum>::VARIANTS
                    .iter()
                    .map(|v| ::std::string::String::from(*v))
                    .collect(),
            }),
        ),
    };
    let coding = format_ident!("{}", spec.coding);
    let interpolate = format_ident!("{}", spec.interpolate);
    let tolerance = spec.tolerance;
    let desc = quote!(#schema::FieldDesc {
        name: ::std::string::String::from(#name),
        lanes: #lanes,
        domain: #domain,
        coding: #schema::Coding::#coding,
        interpolate: #schema::Interpolate::#interpolate,
        tolerance: #tolerance,
    });
    let (write, read) = match shape {
        Shape::Int { ty, lanes, array } => {
            let (min, max) = match spec.domain {
                Some(DomainSpec::Int { min, max } | DomainSpec::Fixed { min, max, .. }) => {
                    (min as i32, max as i32)
                }
                Some(DomainSpec::Angle { bits }) => (0, ((1i64 << bits) - 1) as i32),
                _ => {
                    let (lo, hi) = int_range(ty);
                    (lo as i32, hi as i32)
                }
            };
            let one = quote!({
                let lane = lanes.next()?;
                if !(#min..=#max).contains(&lane) {
                    return ::core::option::Option::None;
                }
                <#ty as ::core::convert::TryFrom<i32>>::try_from(lane).ok()?
            });
            if !array {
                (
                    quote!(out.push(::core::primitive::i32::from(self.#ident));),
                    quote!(let #ident = #one;),
                )
            } else {
                let n = usize::from(*lanes);
                (
                    quote!(for lane in self.#ident { out.push(::core::primitive::i32::from(lane)); }),
                    quote!(let #ident = {
                        let mut value: [#ty; #n] = [0; #n];
                        for slot in value.iter_mut() {
                            *slot = #one;
                        }
                        value
                    };),
                )
            }
        }
        Shape::Bool => (
            quote!(out.push(::core::primitive::i32::from(self.#ident));),
            quote!(let #ident = match lanes.next()? {
                0 => false,
                1 => true,
                _ => return ::core::option::Option::None,
            };),
        ),
        Shape::Enum(ty) => (
            quote!(out.push(::core::primitive::i32::from(
                <#ty as #component::NetEnum>::index(self.#ident)
            ));),
            quote!(let #ident = <#ty as #component::NetEnum>::from_index(
                <u16 as ::core::convert::TryFrom<i32>>::try_from(lanes.next()?).ok()?
            )?;),
        ),
        Shape::Str => {
            let max_len = match spec.domain {
                Some(DomainSpec::Str { max_len }) => usize::from(max_len),
                _ => 0,
            };
            (
                quote!(strings.push(::std::clone::Clone::clone(&self.#ident));),
                quote!(let #ident = {
                    let text = strings.next()?;
                    if text.len() > #max_len {
                        return ::core::option::Option::None;
                    }
                    ::std::clone::Clone::clone(text)
                };),
            )
        }
    };
    FieldCode { desc, write, read }
}

fn expand(input: &DeriveInput, role: Role) -> syn::Result<Tokens> {
    let Data::Struct(data) = &input.data else {
        return Err(Error::new(input.span(), "derive this for a struct"));
    };
    let Fields::Named(fields) = &data.fields else {
        return Err(Error::new(
            input.span(),
            "the struct's fields must be named",
        ));
    };
    if !input.generics.params.is_empty() {
        return Err(Error::new(
            input.generics.span(),
            "generic structs are not supported",
        ));
    }
    let ident = &input.ident;
    let name = name_of(ident)?;
    let specs = fields
        .named
        .iter()
        .map(|field| parse_field(field, role))
        .collect::<syn::Result<Vec<_>>>()?;
    if specs.is_empty() || specs.len() > 32 {
        return Err(Error::new(input.span(), "1 to 32 fields"));
    }
    let codes: Vec<FieldCode> = specs.iter().map(field_code).collect();
    let descs = codes.iter().map(|c| &c.desc);
    let writes = codes.iter().map(|c| &c.write);
    let reads = codes.iter().map(|c| &c.read);
    let idents = specs.iter().map(|s| &s.ident);
    let component = quote!(::tickwire_shared::component);
    Ok(match role {
        Role::Component => quote! {
            #[automatically_derived]
            impl #component::Component for #ident {
                fn desc() -> ::tickwire_shared::schema::ComponentDesc {
                    ::tickwire_shared::schema::ComponentDesc {
                        name: ::std::string::String::from(#name),
                        fields: ::std::vec![#(#descs),*],
                    }
                }

                fn write(
                    &self,
                    out: &mut ::std::vec::Vec<i32>,
                    strings: &mut ::std::vec::Vec<::std::string::String>,
                ) {
                    let _ = &strings;
                    #(#writes)*
                }

                fn read(
                    lanes: &[i32],
                    strings: &[::std::string::String],
                ) -> ::core::option::Option<Self> {
                    let mut lanes = lanes.iter().copied();
                    let mut strings = strings.iter();
                    let _ = (&mut lanes, &mut strings);
                    #(#reads)*
                    ::core::option::Option::Some(Self { #(#idents),* })
                }
            }
        },
        Role::Input => quote! {
            #[automatically_derived]
            impl #component::Input for #ident {
                fn fields() -> ::std::vec::Vec<::tickwire_shared::schema::FieldDesc> {
                    ::std::vec![#(#descs),*]
                }

                fn write(&self, out: &mut ::std::vec::Vec<i32>) {
                    #(#writes)*
                }

                fn read(lanes: &[i32]) -> ::core::option::Option<Self> {
                    let mut lanes = lanes.iter().copied();
                    #(#reads)*
                    ::core::option::Option::Some(Self { #(#idents),* })
                }
            }
        },
    })
}

fn expand_enum(input: &DeriveInput) -> syn::Result<Tokens> {
    let Data::Enum(data) = &input.data else {
        return Err(Error::new(input.span(), "derive NetEnum for an enum"));
    };
    if data.variants.is_empty() || data.variants.len() > 256 {
        return Err(Error::new(input.span(), "a NetEnum has 1 to 256 variants"));
    }
    let mut names = Vec::new();
    let mut variants = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(Error::new(
                variant.span(),
                "NetEnum variants carry no fields",
            ));
        }
        names.push(name_of(&variant.ident)?);
        variants.push(&variant.ident);
    }
    let indexes: Vec<u16> = (0..variants.len() as u16).collect();
    let ident = &input.ident;
    Ok(quote! {
        #[automatically_derived]
        impl ::tickwire_shared::component::NetEnum for #ident {
            const VARIANTS: &'static [&'static str] = &[#(#names),*];

            fn index(self) -> u16 {
                match self {
                    #(Self::#variants => #indexes),*
                }
            }

            fn from_index(index: u16) -> ::core::option::Option<Self> {
                match index {
                    #(#indexes => ::core::option::Option::Some(Self::#variants),)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    })
}
