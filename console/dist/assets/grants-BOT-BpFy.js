<<<<<<<< HEAD:console/dist/assets/grants-BOT-BpFy.js
import{F as e,c as t,o as n}from"./index-CmczXuw9.js";var r=[`viewer`,`analyst`,`responder`,`admin`,`collector`],i=e(()=>n.value?.role===`admin`?r:[]),a=e(()=>[...t.value.values()].sort((e,t)=>String(e.code).localeCompare(String(t.code))));export{a as n,i as t};
========
import{I as e,l as t,s as n}from"./index-CK9CGY1o.js";var r=[`viewer`,`analyst`,`responder`,`admin`,`collector`],i=e(()=>n.value?.role===`admin`?r:[]),a=e(()=>[...t.value.values()].sort((e,t)=>String(e.code).localeCompare(String(t.code))));export{a as n,i as t};
>>>>>>>> h4:console/dist/assets/grants-DWFckvoC.js
